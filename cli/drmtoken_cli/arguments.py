"""Argument types of the `drmtoken` command: each refuses a bad value with one line, before anything runs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from drmtoken.core.account import ENVIRONMENTS
from drmtoken.core.errors import ApiError
from drmtoken.core.params import parse_kid
from drmtoken.core.token import KEY_ID

_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_TOKEN_LIMIT = 10**15  # far above any real allowance, and well inside DynamoDB's 38 digits
MIN_KEEP = 2  # keyring rotation keeps the new key and the one active until now: live tokens were sealed with it


def customer_id(value: str) -> str:
    if not _CUSTOMER_ID.fullmatch(value):
        raise argparse.ArgumentTypeError("customer ID is 1-32 of A-Z a-z 0-9 _ -")
    return value


def non_negative(value: str) -> int:
    """A token allowance: ASCII digits only (``int`` would also take '²' or '٣'), at most 10^15."""
    if not re.fullmatch(r"[0-9]+", value, re.ASCII):
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 0")
    stripped = value.lstrip("0") or "0"
    if len(stripped) > len(str(MAX_TOKEN_LIMIT)) or int(stripped) > MAX_TOKEN_LIMIT:
        raise argparse.ArgumentTypeError(f"a token limit is at most {MAX_TOKEN_LIMIT}")
    return int(stripped)


def env_limit(value: str) -> tuple[str, int]:
    environment, sep, number = value.partition("=")
    if not sep or environment not in ENVIRONMENTS:
        raise argparse.ArgumentTypeError(f"expected ENV=N with ENV test or prod, not {value!r}")
    return environment, non_negative(number)


def port_number(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", value, re.ASCII) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (0-65535)")
    return int(value)


def key_id(value: str) -> str:
    if not KEY_ID.fullmatch(value):
        raise argparse.ArgumentTypeError("a key id is 1-16 of A-Z a-z 0-9 _ -")
    return value


def keep_count(value: str) -> int:
    number = non_negative(value)
    if number < MIN_KEEP:
        raise argparse.ArgumentTypeError(
            f"--keep is at least {MIN_KEEP}: the new key and the one active until now, which live tokens use"
        )
    return number


def kid_value(value: str) -> str:
    try:
        return parse_kid(value)
    except (ApiError, ValueError):
        raise argparse.ArgumentTypeError("KID is 32 hex digits or ^ followed by 1-64 characters") from None


def wrapped_key(value: str) -> bytes:
    if not re.fullmatch(r"[0-9a-fA-F]{48}", value):
        raise argparse.ArgumentTypeError("--ek is 48 hex digits: a 16-byte key wrapped with RFC 3394")
    return bytes.fromhex(value)


def emit(args: argparse.Namespace, document: Any, lines: Callable[[], Sequence[str]]) -> None:
    """Print a read command's answer as JSON (--json) or as text lines."""
    if getattr(args, "json", False):
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for line in lines():
            print(line)


def note(message: str) -> None:
    """What a command did, for the person at the terminal: stderr, so stdout stays the answer."""
    print(message, file=sys.stderr)
