"""`drmtoken customers`: create, inspect, enable or disable customers; set allowances and entitlements."""

from __future__ import annotations

import argparse
import json
from typing import Any

from drmtoken.core.account import ENVIRONMENTS
from drmtoken.core.allowance import MAX_SHARDS, check_shard_count
from drmtoken.core.drm import PROFILES
from drmtoken_cli.arguments import customer_id, emit, env_limit, non_negative, note
from drmtoken_cli.errors import CommandError

from . import Groups, store_from


def register(groups: Groups) -> None:
    customers = groups.add_parser("customers", help="create, inspect, enable/disable customers; set allowances")
    sub = customers.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("create", help="create a customer (every DRM, unlimited, unless told otherwise)")
    p.add_argument("id", type=customer_id)
    drm_switches(p, default=True)
    p.add_argument("--token-limit", type=env_limit, action="append", metavar="ENV=N", help="e.g. test=1000")
    p.set_defaults(func=create)
    p = sub.add_parser("show", help="a customer as JSON: status, entitlements, usage and limits")
    p.add_argument("id", type=customer_id)
    p.add_argument("--json", action="store_true", help="JSON output (the default for show)")
    p.set_defaults(func=show)
    p = sub.add_parser("list", help="all customers, one line each")
    p.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    p.set_defaults(func=list_customers)
    for action in ("disable", "enable"):
        p = sub.add_parser(action, help=f"{action} a customer: takes effect on the next request")
        p.add_argument("id", type=customer_id)
        p.set_defaults(func=set_status)
    p = sub.add_parser("set-limit", help="set or remove the token allowance of one environment")
    p.add_argument("id", type=customer_id)
    p.add_argument("--environment", required=True, choices=ENVIRONMENTS)
    p.add_argument("limit", nargs="?", type=non_negative, help="tokens allowed in total (or --unlimited)")
    p.add_argument("--unlimited", action="store_true", help="remove the limit")
    p.set_defaults(func=set_limit, optional_trailing_number="limit")
    p = sub.add_parser(
        "set-shards",
        help=f"split the allowance over N items for live-event rates (1 to {MAX_SHARDS}; about 500 tokens/s each)",
    )
    p.add_argument("id", type=customer_id)
    p.add_argument("shards", type=shard_count, help="how many shard items requests charge (1: the customer's own)")
    p.set_defaults(func=set_shards)
    p = sub.add_parser("set-drm", help="switch DRMs on or off for a customer (--widevine/--no-fairplay ...)")
    p.add_argument("id", type=customer_id)
    drm_switches(p, default=None)
    p.set_defaults(func=set_drm)


def drm_switches(parser: argparse.ArgumentParser, default: bool | None) -> None:
    """--<drm>/--no-<drm> for every DRM of the profile table."""
    for row in PROFILES.values():
        parser.add_argument(
            f"--{row.entitlement}",
            action=argparse.BooleanOptionalAction,
            default=default,
            help=f"entitle the customer to {row.name} tokens" + (" (default: yes)" if default else ""),
        )


def create(args: argparse.Namespace) -> None:
    entitled = {row.entitlement: bool(getattr(args, row.entitlement)) for row in PROFILES.values()}
    store_from(args).create_customer(args.id, dict(args.token_limit or []), **entitled)
    note(f"created customer {args.id}")


def show(args: argparse.Namespace) -> None:
    print(json.dumps(store_from(args).get_customer(args.id).summary(), indent=2, sort_keys=True))


def describe(summary: dict[str, Any]) -> str:
    drms = ",".join(d for d, on in sorted(summary["entitlements"].items()) if on) or "none"
    usage = " ".join(
        f"{env}={e['tokensIssued']}/{'unlimited' if e['tokenLimit'] is None else e['tokenLimit']}"
        f"({e['liveAuthenticators']} auth)"
        for env, e in summary["environments"].items()
    )
    shards = f"\tshards={summary['shards']}" if summary["shards"] > 1 else ""
    return f"{summary['customerId']}\t{summary['status']}\t{drms}\t{usage}{shards}"


def list_customers(args: argparse.Namespace) -> None:
    summaries = [customer.summary() for customer in store_from(args).list_customers()]
    emit(args, summaries, lambda: [describe(s) for s in summaries])


def set_status(args: argparse.Namespace) -> None:
    store_from(args).set_status(args.id, active=args.command == "enable")
    note(f"customer {args.id} {args.command}d")


def set_limit(args: argparse.Namespace) -> None:
    limit = None if args.unlimited else args.limit
    store_from(args).set_limit(args.id, args.environment, limit)
    note(f"{args.id} {args.environment} limit: {'unlimited' if limit is None else limit}")


def set_shards(args: argparse.Namespace) -> None:
    store = store_from(args)
    store.set_shards(args.id, args.shards)
    note(f"{args.id} charges {args.shards} shard(s); functions see it within a minute")


def shard_count(value: str) -> int:
    try:
        return check_shard_count(non_negative(value))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def set_drm(args: argparse.Namespace) -> None:
    chosen = {drm: getattr(args, row.entitlement) for drm, row in PROFILES.items()}
    if all(entitled is None for entitled in chosen.values()):
        switches = " and/or ".join(f"--{row.entitlement}/--no-{row.entitlement}" for row in PROFILES.values())
        raise CommandError(f"say which DRM: {switches}")
    store = store_from(args)
    for drm, entitled in chosen.items():
        if entitled is not None:
            store.set_entitlement(args.id, drm, entitled)
    print(json.dumps(store.get_customer(args.id).summary()["entitlements"], sort_keys=True))
