"""`drmtoken keyring`: make and rotate token keyrings; and where the other commands find the keyring."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from drmtoken.core.token import KEY_ID, Keyring
from drmtoken_cli.arguments import MIN_KEEP, keep_count, key_id, note
from drmtoken_cli.devserver.local_keyring import local_keyring_file

from . import Groups


class KeyringUnavailable(Exception):
    pass


def register(groups: Groups) -> None:
    keyring = groups.add_parser("keyring", help="create and rotate token keyrings")
    sub = keyring.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("generate", help="print a new one-key keyring JSON")
    p.add_argument("--key-id", type=key_id, default="k1")
    p.set_defaults(func=generate)
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
    p.set_defaults(func=rotate)


def generate(args: argparse.Namespace) -> None:
    print(Keyring.generate_json(args.key_id))


def rotate(args: argparse.Namespace) -> None:
    new_id, retired = rotate_secret(args.secret_id, args.key_id, args.keep)
    note(f"active key is now {new_id}; removed: {', '.join(retired) or 'none'}")


def load_keyring(secret_id: str | None, project_dir: Path) -> Keyring:
    """``secret_id`` when given, else TOKEN_KEYRING, else $TOKEN_KEYRING_SECRET, else the local file of `serve`."""
    local_file = local_keyring_file(project_dir)
    if secret_id:
        text = read_secret(secret_id)
    elif os.environ.get("TOKEN_KEYRING"):
        text = os.environ["TOKEN_KEYRING"]
    elif os.environ.get("TOKEN_KEYRING_SECRET"):
        text = read_secret(os.environ["TOKEN_KEYRING_SECRET"])
    elif local_file.exists():
        text = local_file.read_text()
    else:
        raise KeyringUnavailable("no keyring: set TOKEN_KEYRING, pass --secret-id, or run `drmtoken serve` once")
    try:
        return Keyring.from_json(text)
    except ValueError as error:
        raise KeyringUnavailable(str(error)) from None


def read_secret(secret_id: str) -> str:
    from drmtoken.adapters.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def rotated(document: Any, key_id: str | None, keep: int, now: int) -> tuple[dict[str, Any], list[str]]:
    """The keyring after adding a fresh active key, ``keep`` keys in all; also the ids removed.

    Age comes from ``created`` (epoch seconds per key id, written by generate and rotate).
    A key without it is older than every dated key; among such keys the active one is the
    newest, and the rest go by their ids in natural order (k8 < k9 < k10), never by their
    place in the JSON, which tools like ``jq -S`` reorder. The new key and the key that was
    active are always kept; the other places go to the newest of the rest.
    """
    if keep < MIN_KEEP:
        raise KeyringUnavailable(f"--keep must be at least {MIN_KEEP}: the new key and the one active until now")
    if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
        raise KeyringUnavailable('the secret is not a keyring: expected a JSON object with "active" and "keys"')
    keys: dict[str, str] = dict(document["keys"])
    if any(not isinstance(k, str) or not KEY_ID.fullmatch(k) for k in keys):
        raise KeyringUnavailable("the secret holds a key id that is not 1-16 of [A-Za-z0-9_-]")
    created_raw = document.get("created")
    created = (
        {k: v for k, v in (created_raw or {}).items() if isinstance(v, int)} if isinstance(created_raw, dict) else {}
    )
    active = document.get("active") if isinstance(document.get("active"), str) else None
    if key_id is None:
        numbers = [int(m.group(1)) for k in keys if (m := re.fullmatch(r"k(\d+)", k))]
        key_id = f"k{max(numbers, default=0) + 1}"
    if key_id in keys:
        raise KeyringUnavailable(f"key id {key_id} is already in the keyring")

    def age_order(k: str) -> tuple[int, float, bool, list[Any]]:
        natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", k)]
        return (k in created, created.get(k, 0), k == active, natural)

    oldest_first = [*sorted(keys, key=age_order), key_id]
    always = {key_id} | ({active} if active in keys else set())
    others = [k for k in oldest_first if k not in always]
    kept = always | set(others[len(others) - (keep - len(always)) :] if keep > len(always) else [])
    keys[key_id] = Keyring.new_key_material()
    created[key_id] = now
    new_document = {
        "active": key_id,
        "keys": {k: keys[k] for k in oldest_first if k in kept},
        "created": {k: created[k] for k in oldest_first if k in kept and k in created},
    }
    removed = [k for k in oldest_first if k not in kept]
    return new_document, removed


def rotate_secret(secret_id: str, key_id: str | None, keep: int) -> tuple[str, list[str]]:
    """Add a fresh key, make it active, keep the newest ``keep`` keys; returns (new id, removed ids)."""
    from drmtoken.adapters.aws import client

    try:
        document = json.loads(read_secret(secret_id))
    except json.JSONDecodeError:
        raise KeyringUnavailable("the secret is not a keyring: it is not JSON") from None
    new_document, removed = rotated(document, key_id, keep, int(time.time()))
    try:
        Keyring.from_json(json.dumps(new_document))  # never write a keyring that would not load
    except ValueError as error:
        raise KeyringUnavailable(f"the rotated keyring would not load: {error}") from None
    client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(new_document))
    return str(new_document["active"]), removed
