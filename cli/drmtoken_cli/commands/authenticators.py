"""`drmtoken authenticators`: hand out and revoke customer authenticators (only their hashes are stored)."""

from __future__ import annotations

import argparse
import re

from drmtoken.core.account import ENVIRONMENTS
from drmtoken_cli.admin_store import AuthenticatorNotFound
from drmtoken_cli.arguments import customer_id, note
from drmtoken_cli.errors import CommandError

from . import Groups, store_from


def register(groups: Groups) -> None:
    authenticators = groups.add_parser("authenticators", help="hand out and revoke customer authenticators")
    sub = authenticators.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("add", help="create an authenticator; prints ID,SECRET once")
    p.add_argument("id", type=customer_id)
    p.add_argument("--environment", required=True, choices=ENVIRONMENTS)
    p.set_defaults(func=add)
    p = sub.add_parser("revoke", help="revoke an authenticator (ID,SECRET or SECRET)")
    p.add_argument("id", type=customer_id)
    p.add_argument("authenticator")
    p.set_defaults(func=revoke)


def add(args: argparse.Namespace) -> None:
    secret = store_from(args).add_authenticator(args.id, args.environment)
    print(f"{args.id},{secret}")
    note(f"new {args.environment} authenticator for {args.id}: shown once, stored only as a hash")


def revoke(args: argparse.Namespace) -> None:
    owner, sep, secret = args.authenticator.rpartition(",")
    if sep and owner != args.id:
        raise CommandError(f"authenticator belongs to {owner!r}, not {args.id!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", secret):
        raise CommandError("AUTHENTICATOR is ID,SECRET or SECRET with a 32 hex digit secret")
    try:
        environment = store_from(args).revoke_authenticator(args.id, secret)
    except AuthenticatorNotFound:
        raise CommandError(f"no live authenticator of {args.id} matches") from None
    note(f"revoked a {environment} authenticator of {args.id}")
