"""Cold start on every Python the functions could run on, side by side: which Lambda runtime to choose.

For each of 3.11, 3.12 and 3.13 found on this machine (``tools/find-python``), a virtualenv
under ``.bench/`` holds what a function has on Lambda: the layer's requirements and boto3
(the runtime's own). The probes of ``bench.coldstart`` then run in that interpreter: the
handler's import, import + first answer, resident memory after import, and a warm answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench import coldstart

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ("3.11", "3.12", "3.13")
REQUIREMENTS = ROOT / "layers" / "drmtoken" / "requirements.txt"
WARM_REQUESTS = 2000  # per probe: a warm instance's answers, DynamoDB stubbed


def interpreter(version: str) -> str | None:
    """The Python ``version`` tools/find-python finds (PYTHON= set for make must not choose it), or None."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHON"}
    find = [str(ROOT / "tools" / "find-python"), version]
    found = subprocess.run(find, capture_output=True, text=True, check=False, env=environment)
    return found.stdout.strip() or None


def lambda_like_environment(version: str, python: str) -> str:
    """The interpreter of ``.bench/python<version>``, made (once per requirements) with the layer's packages."""
    venv = ROOT / ".bench" / f"python{version}"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    stamp = venv / ".requirements"
    executable = venv / "bin" / "python"
    if not (stamp.is_file() and stamp.read_text() == wanted):
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(executable), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS), "boto3"], check=True)
        stamp.write_text(wanted)
    return str(executable)


def site_packages(python: str) -> list[str]:
    out = subprocess.run(
        [python, "-c", "import json, site; print(json.dumps(site.getsitepackages()))"],
        capture_output=True,
        text=True,
        check=True,
    )
    paths: list[str] = json.loads(out.stdout)
    return paths


def measure(repeats: int) -> dict[str, dict[str, float] | str]:
    """Per version: medians of import, import + first answer (ms) and RSS (MB); or why it was skipped."""
    results: dict[str, dict[str, float] | str] = {}
    paths, module = coldstart.SUBJECTS["widevine handler"]
    first_request = coldstart.first_request_code()
    warm_requests = coldstart.first_request_code(WARM_REQUESTS)
    for version in VERSIONS:
        python = interpreter(version)
        if python is None:
            results[version] = f"skipped: no Python {version} on this machine (tools/find-python {version})"
            print(f"  python{version}: {results[version]}", file=sys.stderr)
            continue
        executable = lambda_like_environment(version, python)
        where = site_packages(executable)
        imports = [coldstart.probe(paths, module, python=executable, packages=where) for _ in range(repeats)]
        firsts = [coldstart.probe([], "", first_request, python=executable, packages=where)[0] for _ in range(repeats)]
        warm = [coldstart.probe([], "", warm_requests, python=executable, packages=where)[0] for _ in range(3)]
        results[version] = {
            "import_ms": statistics.median(run[0] for run in imports) * 1000,
            "first_answer_ms": statistics.median(firsts) * 1000,
            "rss_mb": statistics.median(run[1] for run in imports),
            "warm_answer_ms": statistics.median(warm) * 1000,
        }
    return results
