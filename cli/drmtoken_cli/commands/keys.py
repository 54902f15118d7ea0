"""`drmtoken keys`: wrapped content keys for the kek + kid form of the token routes."""

from __future__ import annotations

import argparse

from drmtoken_cli.arguments import customer_id, kid_value, note, wrapped_key
from drmtoken_cli.errors import CommandError

from . import Groups, store_from


def register(groups: Groups) -> None:
    keys = groups.add_parser("keys", help="wrapped content keys for the kek + kid form")
    sub = keys.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("put", help="store a content key wrapped (RFC 3394) under the customer's kek")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.add_argument("--ek", required=True, type=wrapped_key, help="48 hex digits")
    p.set_defaults(func=put)
    p = sub.add_parser("delete", help="delete a stored key")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.set_defaults(func=delete)


def put(args: argparse.Namespace) -> None:
    store_from(args).put_key(args.id, args.kid, args.ek)
    note(f"stored wrapped key {args.kid} for {args.id}")


def delete(args: argparse.Namespace) -> None:
    if not store_from(args).delete_key(args.id, args.kid):
        raise CommandError(f"no stored key {args.kid} for {args.id}")
    note(f"deleted key {args.kid} of {args.id}")
