"""``drmtoken``: run the token business from a terminal.

Every command talks to DynamoDB through boto3's normal configuration, so
AWS_PROFILE / AWS_REGION pick the account and AWS_ENDPOINT_URL_DYNAMODB points it
at a local engine. Errors are one line on stderr and exit status 1 (2 for usage).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drmtoken.errors import ApiError, DependencyError, TokenOpenError
from drmtoken.params import Drm, parse_kid
from drmtoken.settings import DEFAULT_CONTENT_KEYS_TABLE, DEFAULT_CUSTOMERS_TABLE, ENVIRONMENTS
from drmtoken.store import AuthenticatorNotFound, CustomerExists, CustomerNotFound, CustomerStore
from drmtoken.token import KEY_ID

from .errors import CommandError
from .keyring import MIN_KEEP, KeyringUnavailable

_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


# --- argument types ------------------------------------------------------------------


def customer_id(value: str) -> str:
    if not _CUSTOMER_ID.fullmatch(value):
        raise argparse.ArgumentTypeError("customer ID is 1-32 of A-Z a-z 0-9 _ -")
    return value


MAX_TOKEN_LIMIT = 10**15  # far above any real allowance, and well inside DynamoDB's 38 digits


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


# --- commands --------------------------------------------------------------------------


def store_from(args: argparse.Namespace) -> CustomerStore:
    from drmtoken.aws import client

    return CustomerStore(client("dynamodb"), args.table, args.keys_table)


def emit(args: argparse.Namespace, document: Any, lines: Callable[[], Sequence[str]]) -> None:
    """Print a read command's answer as JSON (--json) or as text lines."""
    if getattr(args, "json", False):
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        for line in lines():
            print(line)


def cmd_customers_create(args: argparse.Namespace) -> None:
    store_from(args).create_customer(args.id, args.widevine, args.fairplay, dict(args.token_limit or []))
    print(f"created customer {args.id}", file=sys.stderr)


def cmd_customers_show(args: argparse.Namespace) -> None:
    print(json.dumps(store_from(args).get_customer(args.id).summary(), indent=2, sort_keys=True))


def describe(summary: dict[str, Any]) -> str:
    drms = ",".join(d for d, on in sorted(summary["entitlements"].items()) if on) or "none"
    usage = " ".join(
        f"{env}={e['tokensIssued']}/{'unlimited' if e['tokenLimit'] is None else e['tokenLimit']}"
        f"({e['liveAuthenticators']} auth)"
        for env, e in summary["environments"].items()
    )
    return f"{summary['customerId']}\t{summary['status']}\t{drms}\t{usage}"


def cmd_customers_list(args: argparse.Namespace) -> None:
    summaries = [customer.summary() for customer in store_from(args).list_customers()]
    emit(args, summaries, lambda: [describe(s) for s in summaries])


def cmd_customers_status(args: argparse.Namespace) -> None:
    store_from(args).set_status(args.id, active=args.command == "enable")
    print(f"customer {args.id} {args.command}d", file=sys.stderr)


def cmd_customers_set_limit(args: argparse.Namespace) -> None:
    limit = None if args.unlimited else args.limit
    store_from(args).set_limit(args.id, args.environment, limit)
    print(f"{args.id} {args.environment} limit: {'unlimited' if limit is None else limit}", file=sys.stderr)


def cmd_customers_set_drm(args: argparse.Namespace) -> None:
    if args.widevine is None and args.fairplay is None:
        raise CommandError("say which DRM: --widevine/--no-widevine and/or --fairplay/--no-fairplay")
    store = store_from(args)
    for drm, entitled in ((Drm.WIDEVINE, args.widevine), (Drm.FAIRPLAY, args.fairplay)):
        if entitled is not None:
            store.set_entitlement(args.id, drm, entitled)
    print(json.dumps(store.get_customer(args.id).summary()["entitlements"], sort_keys=True))


def cmd_authenticators_add(args: argparse.Namespace) -> None:
    secret = store_from(args).add_authenticator(args.id, args.environment)
    print(f"{args.id},{secret}")
    print(f"new {args.environment} authenticator for {args.id}: shown once, stored only as a hash", file=sys.stderr)


def cmd_authenticators_revoke(args: argparse.Namespace) -> None:
    owner, sep, secret = args.authenticator.rpartition(",")
    if sep and owner != args.id:
        raise CommandError(f"authenticator belongs to {owner!r}, not {args.id!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", secret):
        raise CommandError("AUTHENTICATOR is ID,SECRET or SECRET with a 32 hex digit secret")
    try:
        environment = store_from(args).revoke_authenticator(args.id, secret)
    except AuthenticatorNotFound:
        raise CommandError(f"no live authenticator of {args.id} matches") from None
    print(f"revoked a {environment} authenticator of {args.id}", file=sys.stderr)


def cmd_keys_put(args: argparse.Namespace) -> None:
    store_from(args).put_key(args.id, args.kid, args.ek)
    print(f"stored wrapped key {args.kid} for {args.id}", file=sys.stderr)


def cmd_keys_delete(args: argparse.Namespace) -> None:
    if not store_from(args).delete_key(args.id, args.kid):
        raise CommandError(f"no stored key {args.kid} for {args.id}")
    print(f"deleted key {args.kid} of {args.id}", file=sys.stderr)


def cmd_tables_create(args: argparse.Namespace) -> None:
    from drmtoken.aws import client

    from .tables import create_tables

    created = create_tables(client("dynamodb"), {"CustomersTable": args.table, "ContentKeysTable": args.keys_table})
    for name, was_created in created.items():
        print(f"{name}\t{'created' if was_created else 'exists'}")


def cmd_tokens_inspect(args: argparse.Namespace) -> None:
    from drmtoken.token import open_token, read_header

    from .keyring import load_keyring

    token = args.token.split("ExpressPlayToken=", 1)[-1].split("&", 1)[0]
    keyring = load_keyring(args.secret_id)
    try:
        claims = open_token(keyring, token, now=float("-inf"))
    except TokenOpenError as error:
        raise CommandError(f"token does not open: {error}") from None
    if not args.show_key:
        claims["contentKey"] = "(hidden: use --show-key)"
    document = {
        "expired": claims["expiresAt"] <= time.time(),
        "keyId": read_header(token).key_id,
        "claims": claims,
    }
    print(json.dumps(document, indent=2, sort_keys=True))


def cmd_keyring_generate(args: argparse.Namespace) -> None:
    from drmtoken.token import Keyring

    print(Keyring.generate_json(args.key_id))


def cmd_keyring_rotate(args: argparse.Namespace) -> None:
    from .keyring import rotate_secret

    new_id, retired = rotate_secret(args.secret_id, args.key_id, args.keep)
    print(f"active key is now {new_id}; removed: {', '.join(retired) or 'none'}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> None:
    from .serve import serve

    serve(args)


def cmd_invoke(args: argparse.Namespace) -> None:
    from .local import invoke_file

    print(json.dumps(invoke_file(args.function, args.event, args.environment), indent=2))


# --- parser ----------------------------------------------------------------------------


def drm_switches(parser: argparse.ArgumentParser, default: bool | None) -> None:
    for name in ("widevine", "fairplay"):
        parser.add_argument(
            f"--{name}",
            action=argparse.BooleanOptionalAction,
            default=default,
            help=f"entitle the customer to {name.title()} tokens" + (" (default: yes)" if default else ""),
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drmtoken",
        description="Operate the DRM token service: customers, authenticators, allowances, keys, tokens; "
        "run it locally with `serve`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  drmtoken customers create acme --token-limit test=1000
  drmtoken authenticators add acme --environment test      # prints acme,<secret> once
  drmtoken customers set-limit acme --environment prod 50000
  drmtoken --table prod-customers customers list --json
  drmtoken tokens inspect 'https://wv.example.com/hms/wv/rights/?ExpressPlayToken=...'

AWS_PROFILE and AWS_REGION choose the account; AWS_ENDPOINT_URL_DYNAMODB points at a local engine.""",
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("CUSTOMERS_TABLE", DEFAULT_CUSTOMERS_TABLE),
        help="customers table (default: $CUSTOMERS_TABLE or %(default)s)",
    )
    parser.add_argument(
        "--keys-table",
        default=os.environ.get("CONTENT_KEYS_TABLE", DEFAULT_CONTENT_KEYS_TABLE),
        help="content keys table (default: $CONTENT_KEYS_TABLE or %(default)s)",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    customers = groups.add_parser("customers", help="create, inspect, enable/disable customers; set allowances")
    sub = customers.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("create", help="create a customer (both DRMs, unlimited, unless told otherwise)")
    p.add_argument("id", type=customer_id)
    drm_switches(p, default=True)
    p.add_argument("--token-limit", type=env_limit, action="append", metavar="ENV=N", help="e.g. test=1000")
    p.set_defaults(func=cmd_customers_create)
    p = sub.add_parser("show", help="a customer as JSON: status, entitlements, usage and limits")
    p.add_argument("id", type=customer_id)
    p.add_argument("--json", action="store_true", help="JSON output (the default for show)")
    p.set_defaults(func=cmd_customers_show)
    p = sub.add_parser("list", help="all customers, one line each")
    p.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    p.set_defaults(func=cmd_customers_list)
    for action in ("disable", "enable"):
        p = sub.add_parser(action, help=f"{action} a customer: takes effect on the next request")
        p.add_argument("id", type=customer_id)
        p.set_defaults(func=cmd_customers_status)
    p = sub.add_parser("set-limit", help="set or remove the token allowance of one environment")
    p.add_argument("id", type=customer_id)
    p.add_argument("--environment", required=True, choices=ENVIRONMENTS)
    p.add_argument("limit", nargs="?", type=non_negative, help="tokens allowed in total (or --unlimited)")
    p.add_argument("--unlimited", action="store_true", help="remove the limit")
    p.set_defaults(func=cmd_customers_set_limit)
    p = sub.add_parser("set-drm", help="switch Widevine and/or FairPlay on or off for a customer")
    p.add_argument("id", type=customer_id)
    drm_switches(p, default=None)
    p.set_defaults(func=cmd_customers_set_drm)

    authenticators = groups.add_parser("authenticators", help="hand out and revoke customer authenticators")
    sub = authenticators.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("add", help="create an authenticator; prints ID,SECRET once")
    p.add_argument("id", type=customer_id)
    p.add_argument("--environment", required=True, choices=ENVIRONMENTS)
    p.set_defaults(func=cmd_authenticators_add)
    p = sub.add_parser("revoke", help="revoke an authenticator (ID,SECRET or SECRET)")
    p.add_argument("id", type=customer_id)
    p.add_argument("authenticator")
    p.set_defaults(func=cmd_authenticators_revoke)

    keys = groups.add_parser("keys", help="wrapped content keys for the kek + kid form")
    sub = keys.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("put", help="store a content key wrapped (RFC 3394) under the customer's kek")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.add_argument("--ek", required=True, type=wrapped_key, help="48 hex digits")
    p.set_defaults(func=cmd_keys_put)
    p = sub.add_parser("delete", help="delete a stored key")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.set_defaults(func=cmd_keys_delete)

    tables = groups.add_parser("tables", help="create the tables of template.yaml (local engines)")
    sub = tables.add_subparsers(dest="command", required=True, metavar="ACTION")
    sub.add_parser("create", help="create missing tables exactly as template.yaml defines them").set_defaults(
        func=cmd_tables_create
    )

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
    p.set_defaults(func=cmd_tokens_inspect)

    keyring = groups.add_parser("keyring", help="create and rotate token keyrings")
    sub = keyring.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("generate", help="print a new one-key keyring JSON")
    p.add_argument("--key-id", type=key_id, default="k1")
    p.set_defaults(func=cmd_keyring_generate)
    p = sub.add_parser("rotate", help="add a new active key to the keyring secret; old keys still open tokens")
    p.add_argument(
        "--secret-id",
        required="TOKEN_KEYRING_SECRET" not in os.environ,
        default=os.environ.get("TOKEN_KEYRING_SECRET"),
        help="keyring secret id or ARN (default: $TOKEN_KEYRING_SECRET)",
    )
    p.add_argument("--key-id", type=key_id, help="id of the new key (default: next k<N>)")
    p.add_argument(
        "--keep",
        type=keep_count,
        default=3,
        help="keys kept in the ring, newest first, at least 2; the key active until now is always kept (default 3)",
    )
    p.set_defaults(func=cmd_keyring_rotate)

    p = groups.add_parser("serve", help="the whole API on 127.0.0.1, as API Gateway and Lambda would answer")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=3000)
    p.add_argument("--environment", choices=ENVIRONMENTS, default="test")
    p.add_argument("--no-demo", dest="demo", action="store_false", help="do not create the demo customer")
    p.add_argument(
        "--server-timing",
        action="store_true",
        help="add a Server-Timing header: time spent in DynamoDB and in total (for benchmarks)",
    )
    p.set_defaults(func=cmd_serve)

    p = groups.add_parser("invoke", help="run one event file through a function of template.yaml (sam local invoke)")
    p.add_argument("function", help="logical id, e.g. WidevineFunction")
    p.add_argument("event", type=Path)
    p.add_argument("--environment", choices=ENVIRONMENTS, default="test")
    p.set_defaults(func=cmd_invoke)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse cannot fill an optional positional that follows an option (`ID --environment test 5`).
    if args.func is cmd_customers_set_limit:
        if args.limit is None and len(extra) == 1:
            args.limit = non_negative(extra.pop())
        if (args.limit is None) == (not args.unlimited):
            parser.error("customers set-limit takes a number N or --unlimited, not both or neither")
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(argv)
    except argparse.ArgumentTypeError as error:
        print(f"drmtoken: {error}", file=sys.stderr)
        return 2
    try:
        args.func(args)
    except CommandError as error:
        return fail(str(error))
    except CustomerExists as error:
        return fail(f"customer {error} already exists; nothing changed")
    except CustomerNotFound as error:
        return fail(f"no customer {error}")
    except DependencyError as error:
        return fail(f"DynamoDB failed: {error}")
    except KeyringUnavailable as error:
        return fail(f"keyring: {error}")
    except (BotoCoreError, ClientError) as error:
        return fail(f"AWS: {error}")
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the promise is one line on stderr, whatever went wrong
        if os.environ.get("DRMTOKEN_DEBUG"):
            raise
        return fail(f"unexpected {type(error).__name__}; set DRMTOKEN_DEBUG=1 to see the traceback")
    return 0


def fail(message: str) -> int:
    print(f"drmtoken: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
