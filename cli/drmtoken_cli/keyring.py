"""Where the command finds the token keyring, and how it rotates the one in AWS."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from drmtoken.token import Keyring

from .template import REPO_ROOT

# `drmtoken serve` keeps its keyring here so tokens open across restarts and with `tokens inspect`.
LOCAL_KEYRING_FILE = REPO_ROOT / ".local" / "keyring.json"


class KeyringUnavailable(Exception):
    pass


def ensure_local_keyring(path: Path = LOCAL_KEYRING_FILE) -> str:
    """The local keyring's JSON, created (readable by its owner only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(Keyring.generate_json("local1"))
    return path.read_text()


def load_keyring(secret_id: str | None) -> Keyring:
    """TOKEN_KEYRING, else the Secrets Manager secret, else the local file of `drmtoken serve`."""
    if os.environ.get("TOKEN_KEYRING"):
        text = os.environ["TOKEN_KEYRING"]
    elif secret_id:
        text = read_secret(secret_id)
    elif LOCAL_KEYRING_FILE.exists():
        text = LOCAL_KEYRING_FILE.read_text()
    else:
        raise KeyringUnavailable("no keyring: set TOKEN_KEYRING, pass --secret-id, or run `drmtoken serve` once")
    try:
        return Keyring.from_json(text)
    except ValueError as error:
        raise KeyringUnavailable(str(error)) from None


def read_secret(secret_id: str) -> str:
    from drmtoken.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def rotate_secret(secret_id: str, key_id: str | None, keep: int) -> tuple[str, list[str]]:
    """Add a fresh key, make it active, keep the newest ``keep`` keys; returns (new id, removed ids)."""
    from drmtoken.aws import client

    document = json.loads(read_secret(secret_id))
    keys: dict[str, str] = document.get("keys", {})
    if key_id is None:
        numbers = [int(m.group(1)) for k in keys if (m := re.fullmatch(r"k(\d+)", k))]
        key_id = f"k{max(numbers, default=0) + 1}"
    if key_id in keys:
        raise KeyringUnavailable(f"key id {key_id} is already in the keyring")
    keys[key_id] = Keyring.new_key_material()
    ordered = list(keys)
    removed = ordered[: max(0, len(ordered) - max(keep, 1))]
    new_document = {"active": key_id, "keys": {k: keys[k] for k in ordered if k not in removed}}
    Keyring.from_json(json.dumps(new_document))  # never write a keyring that would not load
    client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(new_document))
    return key_id, removed
