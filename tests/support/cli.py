"""The installed `drmtoken` command, run as a child process with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.lambdas import ROOT

DRMTOKEN = Path(sys.executable).parent / "drmtoken"


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    """A clean environment for a child process: no profile, fake keys, only what the test gives."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    return {
        **keep,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def drmtoken(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the installed `drmtoken` command from the project directory."""
    result = subprocess.run(
        [str(DRMTOKEN), *args],
        env=subprocess_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"drmtoken {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
