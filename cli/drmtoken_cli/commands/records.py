"""`drmtoken records`: a customer's redemption records, newest first, as getrecord shows them to the customer."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from drmtoken.core.params import parse_cookie
from drmtoken_cli.arguments import customer_id, emit, non_negative

from . import Groups

PAGE = 32


def register(groups: Groups) -> None:
    p = groups.add_parser("records", help="a customer's redemption records, newest first")
    p.add_argument("id", type=customer_id)
    p.add_argument("--cookie", type=cookie_value, help="only the records of this cookie")
    p.add_argument("--token-id", help="only the records of this token")
    p.add_argument("--limit", type=non_negative, default=100, help="at most this many records (default 100)")
    p.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    p.set_defaults(func=show_records)


def cookie_value(value: str) -> str:
    try:
        return parse_cookie(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a cookie is 1-32 printable ASCII characters") from None


def show_records(args: argparse.Namespace) -> None:
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.records import DynamoRecordReader

    reader = DynamoRecordReader(client("dynamodb"), args.records_table)
    found: list[dict[str, Any]] = []
    position: str | None = None
    while len(found) < args.limit:
        page, position = reader.page(args.id, args.cookie, PAGE, position)
        found += [r for r in page if args.token_id in (None, r.get("tokenId"))]
        if position is None:
            break
    found = found[: args.limit]
    emit(args, found, lambda: [describe(record) for record in found])


def describe(record: dict[str, Any]) -> str:
    """One line per record for people: the time as a UTC date (``--json`` keeps epoch milliseconds)."""
    fields = ("drm", "kind", "status", "code", "tokenId", "kid", "cookie", "sourceIp")
    when = record.get("time")
    shown = (
        datetime.fromtimestamp(when / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if isinstance(when, int)
        else "-"
    )
    return "\t".join([shown, *(str(record.get(name, "-")) for name in fields)])
