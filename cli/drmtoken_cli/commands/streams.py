"""`drmtoken streams`: a viewer's open streams, and ending one, as the streams API does for the customer."""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drmtoken.core.slots import STREAM_ID, parse_user_id, viewer_of
from drmtoken_cli.arguments import customer_id, emit, note
from drmtoken_cli.errors import CommandError

from . import Groups


def register(groups: Groups) -> None:
    p = groups.add_parser(
        "streams",
        help="a viewer's open streams: `streams CUSTOMER USER_ID`, or `streams end CUSTOMER USER_ID STREAM_ID`",
        description="List a viewer's open streams, or end one (its slot is free at once, its next renewal refused).",
    )
    p.add_argument("words", nargs="+", metavar="[end] CUSTOMER USER_ID [STREAM_ID]")
    p.add_argument(
        "--viewer-key-secret",
        default=os.environ.get("VIEWER_KEY_SECRET"),
        help="the stack's ViewerKeySecretArn (default: $VIEWER_KEY_SECRET; else $VIEWER_KEY, else the local key)",
    )
    p.add_argument("--json", action="store_true", help="JSON instead of lines")
    p.set_defaults(func=run_streams)


def run_streams(args: argparse.Namespace) -> None:
    ending = args.words[0] == "end"
    words = args.words[1:] if ending else args.words
    if len(words) != (3 if ending else 2):
        raise CommandError("usage: drmtoken streams CUSTOMER USER_ID | drmtoken streams end CUSTOMER USER_ID STREAM_ID")
    customer = _checked(customer_id, words[0], "a customer id is 1-32 of [A-Za-z0-9_-]")
    user_id = _checked(parse_user_id, words[1], "a userId is 1-64 ASCII characters from ! to ~")
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.streams import DynamoStreams

    streams = DynamoStreams(client("dynamodb"), args.records_table)
    viewer = viewer_of(_viewer_key(args), customer, user_id)
    now = int(time.time())
    if ending:
        stream_id = words[2]
        if not STREAM_ID.fullmatch(stream_id) or not streams.end(customer, viewer, stream_id, now):
            raise CommandError(f"{customer} has no open stream {stream_id} for that userId; nothing changed")
        note(f"ended stream {stream_id}: its slot is free, its next renewal is refused")
        return
    found = [
        {
            "id": s.stream_id,
            "openedAt": s.opened_at * 1000,
            "lastRenewalAt": s.renewed_at * 1000,
            "drm": s.drm,
            "device": s.device,
        }
        for s in streams.open_streams(customer, viewer, now)
    ]
    emit(args, found, lambda: [describe(stream) for stream in found])


def describe(stream: dict[str, Any]) -> str:
    def when(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    device = ",".join(f"{k}={v}" for k, v in sorted(stream["device"].items())) or "-"
    return "\t".join([stream["id"], stream["drm"], when(stream["openedAt"]), when(stream["lastRenewalAt"]), device])


def _checked(parse: Any, value: str, message: str) -> str:
    try:
        return str(parse(value))
    except (ValueError, argparse.ArgumentTypeError):
        raise CommandError(message) from None


def _viewer_key(args: argparse.Namespace) -> bytes:
    """The deployment's viewer key: its secret, the inline key, or the one `make run` made in .local/."""
    from drmtoken.adapters.keyring import SecretViewerKey
    from drmtoken.core.errors import DependencyError

    inline = os.environ.get("VIEWER_KEY")
    if not args.viewer_key_secret and not inline:
        local = Path(args.template).resolve().parent / ".local" / "viewer-key"
        if not local.is_file():
            raise CommandError("no viewer key: pass --viewer-key-secret (the stack's ViewerKeySecretArn)")
        inline = local.read_text().strip()
    try:
        return SecretViewerKey(None if args.viewer_key_secret else inline, args.viewer_key_secret, 0).get()
    except DependencyError as error:
        raise CommandError(str(error)) from None
