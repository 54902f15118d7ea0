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

# The same, then the first request (boto3 and the DynamoDB client load here, lazily), answered by a Stubber.
_FIRST_REQUEST = """
import json, os, sys, time
sys.path[:0] = {paths!r}
os.environ.update({env!r})
started = time.perf_counter()
import app
from botocore.stub import Stubber
from drmtoken.adapters import aws
client = aws.client("dynamodb")
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
with Stubber(client) as stubber:
    stubber.add_response("get_item", {{"Item": {{}}}})  # a new instance reads the customer's shard count first
    stubber.add_response("transact_write_items", {{}})
    response = app.lambda_handler(json.loads({event!r}), Context())
elapsed = time.perf_counter() - started
assert response["statusCode"] == 200, response
if {warm_requests}:  # then the warm instance's answers: the median handler time, DynamoDB stubbed
    samples = []
    with Stubber(client) as stubber:
        for _ in range({warm_requests}):
            stubber.add_response("transact_write_items", {{}})
        for _ in range({warm_requests}):
            began = time.perf_counter()
            response = app.lambda_handler(json.loads({event!r}), Context())
            samples.append(time.perf_counter() - began)
    elapsed = sorted(samples)[len(samples) // 2]
print(elapsed, 0)
"""

SUBJECTS = {
    "boto3": ([], "boto3"),
    "widevine handler": ([str(ROOT / "functions" / "widevine"), str(ROOT / "layers" / "drmtoken")], "app"),
    "fairplay handler": ([str(ROOT / "functions" / "fairplay"), str(ROOT / "layers" / "drmtoken")], "app"),
}


def probe(
    paths: list[str], module: str, code: str | None = None, python: str = "", packages: list[str] | None = None
) -> tuple[float, float]:
    """(seconds, resident MB after import) in a new interpreter: ``python`` (this one by default) and its packages."""
    code = code or _PROBE.format(paths=paths, module=module)
    env = {"POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [python or sys.executable, "-S", "-c", _site(code, packages)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cold start probe failed: {out.stderr[-2000:]}")
    seconds, rss_kb = out.stdout.split()[-2:]
    return float(seconds), int(rss_kb) / 1024


def _site(code: str, packages: list[str] | None = None) -> str:
    # -S skips site so that nothing but the probe is imported before timing; add site-packages back by hand.
    import site

    where = json.dumps(site.getsitepackages() if packages is None else packages)
    return f"import sys; sys.path.extend({where})\n{code}"


def first_request_code(warm_requests: int = 0) -> str:
    """Probe code for import + first Widevine request, with the template's environment.

    With ``warm_requests``, the probe answers that many more and reports their median instead.
    """
    from urllib.parse import urlencode

    from bench.service import QUERIES
    from drmtoken.core.token import Keyring
    from drmtoken_cli.devserver.events import rest_event
    from tests.support.lambdas import TEMPLATE

    env = dict(TEMPLATE.functions()["WidevineFunction"].environment)
    env.update(
        TOKEN_KEYRING=Keyring.generate_json("b1"),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_NAMESPACE="DrmTokenService",
    )
    event = rest_event("GET", f"/hms/wv/token?{urlencode(QUERIES['wv'])}", [], b"")
    paths, _ = SUBJECTS["widevine handler"]
    return _FIRST_REQUEST.format(paths=paths, env=env, event=json.dumps(event), warm_requests=warm_requests)


def measure(repeats: int) -> dict[str, dict[str, float]]:
    results = {}
    first = [probe([], "", first_request_code())[0] for _ in range(repeats)]
    results["widevine import + first request"] = {"import_ms": statistics.median(first) * 1000, "rss_mb": 0.0}
    for name, (paths, module) in SUBJECTS.items():
        runs = [probe(paths, module) for _ in range(repeats)]
        results[name] = {
            "import_ms": statistics.median(r[0] for r in runs) * 1000,
            "rss_mb": statistics.median(r[1] for r in runs),
        }
    return results
