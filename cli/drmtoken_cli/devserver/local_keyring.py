"""The keyring of local runs: `.local/keyring.json` beside the template, made once, readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

from drmtoken.core.token import Keyring


def local_keyring_file(project_dir: Path) -> Path:
    return project_dir / ".local" / "keyring.json"


def ensure_local_keyring(project_dir: Path) -> str:
    """The local keyring's JSON, created on first use so tokens open across restarts and with `tokens inspect`."""
    path = local_keyring_file(project_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(Keyring.generate_json("local1"))
    return path.read_text()
