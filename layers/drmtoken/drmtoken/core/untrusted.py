"""Rules for what comes from outside: JSON read within a depth, back-end text made safe to log.

A request body and a back end's answer are untrusted alike. JSON nested past a depth is
refused before the parser sees it (Python's parser would raise RecursionError around a
thousand levels). A back end's own words never reach a player; for the operator's log
line they are cut short, stripped of control characters, and cleared of every spelling
of the token's keys and IVs (a KSM that quotes the key it was given must not put it in a log).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .keys import token_keys

MAX_JSON_DEPTH = 32  # a Clear Key request is 2 deep, a KSM or Widevine answer 2 to 3
MAX_ANSWER_BYTES = 1 << 20  # a license is kilobytes; API Gateway and Lambda stop at 6 MB
MAX_LOGGED_TEXT = 200  # characters of a back end's words kept for the operator
MAX_DEVICE_FIELD = 64  # characters of one device field kept in a record
REDACTED = "[redacted]"

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class TooDeep(ValueError):
    """JSON nested deeper than the bound."""


def read_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` of untrusted text, refused (ValueError) when nested deeper than ``max_depth``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', raw)):  # brackets inside strings do not nest
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
        if deepest > max_depth:
            raise TooDeep(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(raw)
    except RecursionError:  # unreachable after the count; kept so no input can raise past here
        raise TooDeep(f"JSON nested deeper than {max_depth}") from None


def secret_spellings(claims: Mapping[str, Any]) -> list[str]:
    """Every way a back end could spell the token's keys and IVs: hex either case, base64, base64url."""
    values: list[bytes] = []
    for key in token_keys(claims):
        values.append(key.key)
        if key.iv is not None:
            values.append(key.iv)
    if isinstance(claims.get("iv"), str):
        with contextlib.suppress(ValueError):
            values.append(bytes.fromhex(claims["iv"]))
    spellings: set[str] = set()
    for value in values:
        hexed = value.hex()
        standard = base64.b64encode(value).decode("ascii")
        url = base64.urlsafe_b64encode(value).decode("ascii")
        spellings.update({hexed, hexed.upper(), standard, standard.rstrip("="), url, url.rstrip("=")})
    return sorted(spellings, key=len, reverse=True)  # the longest first, so no part of one is left


def for_the_log(text: Any, secrets: Iterable[str] = (), limit: int = MAX_LOGGED_TEXT) -> str:
    """A back end's words as the operator may see them: printable, secrets cleared, bounded."""
    shown = "".join(c if c.isprintable() else " " for c in str(text)[: limit * 4])
    for secret in secrets:
        if secret:
            shown = re.sub(re.escape(secret), REDACTED, shown, flags=re.IGNORECASE)
    return shown[:limit]


def device_field(value: Any) -> str | int | None:
    """One device field of a license answer as a record keeps it: a bounded printable string or an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**53) < value < 2**53 else None
    if isinstance(value, str):
        cleaned = "".join(c for c in value[: MAX_DEVICE_FIELD * 4] if c.isprintable())
        return cleaned[:MAX_DEVICE_FIELD]
    return None
