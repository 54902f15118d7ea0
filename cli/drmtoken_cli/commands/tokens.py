"""`drmtoken tokens`: look inside a token or license URL."""

from __future__ import annotations

import argparse
import json
import time

from drmtoken.core.errors import TokenOpenError
from drmtoken.core.token import open_token, read_header
from drmtoken_cli.errors import CommandError

from . import Groups
from .keyring import load_keyring


def register(groups: Groups) -> None:
    tokens = groups.add_parser("tokens", help="look inside tokens")
    sub = tokens.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("inspect", help="open a token (or license URL) and print its claims as JSON")
    p.add_argument("token", metavar="TOKEN_OR_URL")
    p.add_argument("--show-key", action="store_true", help="include the clear content key")
    p.add_argument(
        "--secret-id",
        help="keyring secret in AWS; when given it wins over TOKEN_KEYRING (default: $TOKEN_KEYRING, "
        "then $TOKEN_KEYRING_SECRET, then the keyring of `drmtoken serve`)",
    )
    p.add_argument("--json", action="store_true", help="JSON output (the default for inspect)")
    p.set_defaults(func=inspect)


def inspect(args: argparse.Namespace) -> None:
    token = args.token.split("ExpressPlayToken=", 1)[-1].split("&", 1)[0]
    keyring = load_keyring(args.secret_id, args.template.parent)
    try:
        claims = open_token(keyring, token, now=float("-inf"))
    except TokenOpenError as error:
        raise CommandError(f"token does not open: {error}") from None
    if not args.show_key:
        if "contentKey" in claims:
            claims["contentKey"] = "(hidden: use --show-key)"
        for held in claims.get("keys", []):
            held["key"] = "(hidden: use --show-key)"
    document = {"expired": claims["expiresAt"] <= time.time(), "keyId": read_header(token).key_id, "claims": claims}
    print(json.dumps(document, indent=2, sort_keys=True))
