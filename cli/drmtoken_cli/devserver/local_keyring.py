"""The keyrings of local runs (tokens; the sealing of held keys) in `.local/`, made once, owner-only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from drmtoken.core.token import Keyring

TOKEN_KEYRING_FILE = "keyring.json"  # noqa: S105 - a file name
SEALING_KEYRING_FILE = "key-sealing-keyring.json"  # seals held keys; lost, the local held keys are lost
VIEWER_KEY_FILE = "viewer-key"  # the viewers' hash key; lost, the local stream slots are not found again


def local_keyring_file(project_dir: Path, name: str = TOKEN_KEYRING_FILE) -> Path:
    return project_dir / ".local" / name


def ensure_local_keyring(project_dir: Path, name: str = TOKEN_KEYRING_FILE) -> str:
    """A local keyring's JSON, created on first use so tokens and held keys open across restarts."""
    path = local_keyring_file(project_dir, name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(Keyring.generate_json("local1"))
    return path.read_text()


def ensure_local_viewer_key(project_dir: Path) -> str:
    """The local viewer key (64 hex characters), created on first use like the keyrings."""
    path = local_keyring_file(project_dir, VIEWER_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()
