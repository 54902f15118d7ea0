"""Cold start: a fresh interpreter's import time and resident memory, per handler module and for boto3."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter laid out like Lambda: the function's directory and the layer on sys.path.
# Resident memory is the current VmRSS: ru_maxrss would carry the parent's peak across fork and exec.
_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
rss_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
print(elapsed, rss_kb)
"""

SUBJECTS = {
    "boto3": ([], "boto3"),
    "widevine handler": ([str(ROOT / "functions" / "widevine"), str(ROOT / "layers" / "drmtoken")], "app"),
    "fairplay handler": ([str(ROOT / "functions" / "fairplay"), str(ROOT / "layers" / "drmtoken")], "app"),
}


def probe(paths: list[str], module: str) -> tuple[float, float]:
    """(seconds to import, resident MB after import) in a new interpreter."""
    code = _PROBE.format(paths=paths, module=module)
    env = {"POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-S", "-c", _site(code)], capture_output=True, text=True, env=env, check=True)
    seconds, rss_kb = out.stdout.split()
    return float(seconds), int(rss_kb) / 1024


def _site(code: str) -> str:
    # -S skips site so that nothing but the probe is imported before timing; add site-packages back by hand.
    import site

    packages = json.dumps(site.getsitepackages())
    return f"import sys; sys.path.extend({packages})\n{code}"


def measure(repeats: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, (paths, module) in SUBJECTS.items():
        runs = [probe(paths, module) for _ in range(repeats)]
        results[name] = {
            "import_ms": statistics.median(r[0] for r in runs) * 1000,
            "rss_mb": statistics.median(r[1] for r in runs),
        }
    return results
