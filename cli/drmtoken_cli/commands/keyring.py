"""`drmtoken keyring`: make and rotate token keyrings; and where the other commands find the keyring."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drmtoken.core.errors import DependencyError
from drmtoken.core.params import MAX_TOKEN_LIFETIME
from drmtoken.core.token import KEY_ID, Keyring
from drmtoken_cli.arguments import MIN_KEEP, keep_count, key_id, note
from drmtoken_cli.devserver.local_keyring import TOKEN_KEYRING_FILE, local_keyring_file

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
        help="keys kept in the ring, newest first, at least 2; the key active until now is always kept, and so is"
        " every key a live token or a held key may still need (default 3)",
    )
    p.set_defaults(func=rotate)


def generate(args: argparse.Namespace) -> None:
    print(Keyring.generate_json(args.key_id))


def rotate(args: argparse.Namespace) -> None:
    new_id, removed, held_back = rotate_secret(args.secret_id, args.key_id, args.keep, args.held_keys_table)
    note(f"active key is now {new_id}; removed: {', '.join(removed) or 'none'}")
    for kept, why in held_back.items():
        note(f"kept {kept} past --keep: {why}")


def load_keyring(
    secret_id: str | None,
    project_dir: Path,
    inline_variable: str = "TOKEN_KEYRING",
    secret_variable: str = "TOKEN_KEYRING_SECRET",  # noqa: S107 - the name of a variable
    local_name: str = TOKEN_KEYRING_FILE,
) -> Keyring:
    """``secret_id``, else $<inline_variable>, else the secret $<secret_variable> names, else the local file."""
    local_file = local_keyring_file(project_dir, local_name)
    if secret_id:
        text = read_secret(secret_id)
    elif os.environ.get(inline_variable):
        text = os.environ[inline_variable]
    elif os.environ.get(secret_variable):
        text = read_secret(os.environ[secret_variable])
    elif local_file.exists():
        text = local_file.read_text()
    else:
        raise KeyringUnavailable(f"no keyring: set {inline_variable}, pass --secret-id, or run `drmtoken serve` once")
    try:
        return Keyring.from_json(text)
    except ValueError as error:
        raise KeyringUnavailable(str(error)) from None


def read_secret(secret_id: str) -> str:
    from drmtoken.adapters.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


# A token lives at most MAX_TOKEN_LIFETIME after it is sealed, and a key seals tokens until it is
# replaced (and for up to 5 minutes after, in a warm function's cached keyring). A day more covers
# that, and clocks. Held keys sealed under a key keep it for as long as one is not resealed.
RETENTION_MARGIN = 24 * 3600


def replaced_at(key_id: str, oldest_first: list[str], created: dict[str, int]) -> int | None:
    """When the next newer key was made, so when ``key_id`` stopped being active at the latest; None if unknown."""
    newer = [created[k] for k in oldest_first[oldest_first.index(key_id) + 1 :] if k in created]
    return min(newer) if newer else None


def rotated(
    document: Any, key_id: str | None, keep: int, now: int, sealing: Callable[[], dict[str, int]] | None = None
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The keyring after adding a fresh active key; also the ids removed, and why others past ``keep`` stay.

    Age comes from ``created`` (epoch seconds per key id, written by generate and rotate).
    A key without it is older than every dated key; among such keys the active one is the
    newest, and the rest go by their ids in natural order (k8 < k9 < k10), never by their
    place in the JSON, which tools like ``jq -S`` reorder. The new key and the key that was
    active are always kept; the other places go to the newest of the rest.

    A key past those places is removed only when nothing can still need it: it was retired
    (``retired``, written here) more than the longest token life and a margin ago, and no
    held key is sealed under it (``sealing``: held keys by sealing key id, read only when
    a key is old enough). Otherwise it stays, and the reason says until when or why.
    """
    if keep < MIN_KEEP:
        raise KeyringUnavailable(f"--keep must be at least {MIN_KEEP}: the new key and the one active until now")
    if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
        raise KeyringUnavailable('the secret is not a keyring: expected a JSON object with "active" and "keys"')
    keys: dict[str, str] = dict(document["keys"])
    if any(not isinstance(k, str) or not KEY_ID.fullmatch(k) for k in keys):
        raise KeyringUnavailable("the secret holds a key id that is not 1-16 of [A-Za-z0-9_-]")
    created, retired = dated(document.get("created")), dated(document.get("retired"))
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
    keys[key_id] = Keyring.new_key_material()
    created[key_id] = now
    for k in oldest_first[:-1]:  # every key but the new one is retired now, if it was not before
        if k not in retired:
            retired[k] = replaced_at(k, oldest_first, created) or now
    always = {key_id} | ({active} if active in keys else set())
    others = [k for k in oldest_first if k not in always]
    newest = set(others[len(others) - (keep - len(always)) :] if keep > len(always) else [])
    held_back: dict[str, str] = {}
    in_use: dict[str, int] | None = None
    for k in others:
        if k in newest:
            continue
        needed_until = retired[k] + MAX_TOKEN_LIFETIME + RETENTION_MARGIN
        if now < needed_until:
            held_back[k] = f"tokens it sealed may be open until {utc_date(needed_until)}"
            continue
        if in_use is None:
            in_use = sealing() if sealing else {}
        if count := in_use.get(k, 0):
            held_back[k] = (
                f"it seals {count} held keys: run `drmtoken keys reseal` first"
                if count > 0
                else "the held keys table could not be read, and it may seal held keys"
            )
    kept = always | newest | set(held_back)
    new_document = {
        "active": key_id,
        "keys": {k: keys[k] for k in oldest_first if k in kept},
        "created": {k: created[k] for k in oldest_first if k in kept and k in created},
        "retired": {k: retired[k] for k in oldest_first if k in kept and k in retired},
    }
    removed = [k for k in oldest_first if k not in kept]
    return new_document, removed, held_back


def dated(value: Any) -> dict[str, int]:
    """A keyring's map of key id to epoch seconds, ignoring what is not one."""
    return {k: v for k, v in value.items() if isinstance(v, int)} if isinstance(value, dict) else {}


def utc_date(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def rotate_secret(
    secret_id: str, key_id: str | None, keep: int, held_keys_table: str
) -> tuple[str, list[str], dict[str, str]]:
    """Add a fresh key, make it active, keep the newest ``keep`` keys and every key still needed.

    Returns (new id, removed ids, ids kept past ``keep`` with why). Held keys are counted by
    sealing key (a scan of ``held_keys_table``) only when a key is old enough to go; when the
    table cannot be read, no such key is removed.
    """
    from drmtoken.adapters.aws import client
    from drmtoken_cli.sealing import sealing_key_counts

    try:
        document = json.loads(read_secret(secret_id))
    except json.JSONDecodeError:
        raise KeyringUnavailable("the secret is not a keyring: it is not JSON") from None

    def sealing() -> dict[str, int]:
        try:
            return sealing_key_counts(client("dynamodb"), held_keys_table)
        except DependencyError as error:  # unknown: every key may seal some (-1)
            note(f"held keys table {held_keys_table} not readable ({error}): old keys are kept")
            return dict.fromkeys(document.get("keys", {}), -1)

    new_document, removed, held_back = rotated(document, key_id, keep, int(time.time()), sealing)
    try:
        Keyring.from_json(json.dumps(new_document))  # never write a keyring that would not load
    except ValueError as error:
        raise KeyringUnavailable(f"the rotated keyring would not load: {error}") from None
    client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(new_document))
    return str(new_document["active"]), removed, held_back
