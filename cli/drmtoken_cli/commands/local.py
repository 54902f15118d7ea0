"""`drmtoken serve`, `drmtoken invoke` and `drmtoken tables create`: the service on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drmtoken.core.account import ENVIRONMENTS
from drmtoken_cli.arguments import port_number

from . import Groups


def register(groups: Groups) -> None:
    tables = groups.add_parser("tables", help="create the tables of template.yaml (local engines)")
    sub = tables.add_subparsers(dest="command", required=True, metavar="ACTION")
    sub.add_parser("create", help="create missing tables exactly as template.yaml defines them").set_defaults(
        func=tables_create
    )

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
    p.add_argument(
        "--parameter-overrides",
        dest="parameters",
        nargs="+",
        type=parameter_value,
        metavar="NAME=VALUE",
        help="template parameters, as sam deploy takes them (e.g. ApiThrottlingRateLimit=5 to see 429s)",
    )
    p.set_defaults(func=serve)

    p = groups.add_parser("stand-in", help="run a local stand-in of a license back end until Ctrl-C")
    p.add_argument("kind", choices=("widevine", "ksm"), help="Widevine's license service, or a FairPlay KSM")
    p.add_argument("--port", type=port_number, default=0, help="loopback port (default: a free one)")
    p.set_defaults(func=stand_in)

    p = groups.add_parser("invoke", help="run one event file through a function of template.yaml (sam local invoke)")
    p.add_argument("function", help="logical id, e.g. WidevineFunction")
    p.add_argument("event", type=Path)
    p.add_argument("--environment", choices=ENVIRONMENTS, default="test")
    p.set_defaults(func=invoke)


def tables_create(args: argparse.Namespace) -> None:
    from drmtoken.adapters.aws import client
    from drmtoken_cli.devserver.tables import create_tables

    names = {
        "CustomersTable": args.table,
        "ContentKeysTable": args.keys_table,
        "HeldKeysTable": args.held_keys_table,
        "RecordsTable": args.records_table,
    }
    for name, was_created in create_tables(client("dynamodb"), args.load_template(), names).items():
        print(f"{name}\t{'created' if was_created else 'exists'}")


def parameter_value(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {value!r}")
    return name, setting


def serve(args: argparse.Namespace) -> None:
    from drmtoken_cli.devserver.gateway import serve as serve_gateway

    serve_gateway(args.load_template(), args.host, args.port, args.environment, args.demo, args.server_timing)


def invoke(args: argparse.Namespace) -> None:
    from drmtoken_cli.devserver.lambda_host import invoke_file

    response = invoke_file(args.load_template(), args.function, args.event, args.environment)
    print(json.dumps(response, indent=2))
    if int(response.get("statusCode", 500)) >= 500:  # as sam local invoke's caller would want: a failure fails
        raise SystemExit(1)


def stand_in(args: argparse.Namespace) -> None:
    """A stand-in on 127.0.0.1, printing what to point `serve` at; stops on Ctrl-C or SIGTERM."""
    import signal
    import threading

    from drmtoken_cli.devserver.ksm_standin import KsmStandIn
    from drmtoken_cli.devserver.widevine_standin import WidevineStandIn

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    service: WidevineStandIn | KsmStandIn
    if args.kind == "widevine":
        service = WidevineStandIn(args.port).start()
        print(f"WIDEVINE_PROVIDER='{service.provider_json()}'", flush=True)
    else:
        service = KsmStandIn(args.port).start()
        print(f"FAIRPLAY_KSM={service.url}", flush=True)
    print(f"{args.kind} stand-in at {service.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    stopped.wait()
    service.stop()
