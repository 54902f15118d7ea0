"""The full path: HTTP clients -> `drmtoken serve` -> handler -> DynamoDB Local, at 1, 4 and 16 clients."""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.service import AUTH, QUERIES, percentile
from drmtoken.core.token import Keyring
from drmtoken_cli.devserver.net import free_port
from tests.support.dynamodb_local import dynamodb_local

DRMTOKEN = Path(sys.executable).parent / "drmtoken"
_TIMING = re.compile(r"dynamodb;dur=([\d.]+), total;dur=([\d.]+)")


def run_clients(port: int, clients: int, requests_per_client: int) -> dict[str, float]:
    path = f"/hms/fp/token?{urlencode(QUERIES['fp'])}"
    latencies: list[float] = []
    shares: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(requests_per_client):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            timing = _TIMING.search(response.getheader("Server-Timing") or "")
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(response.status)
                if timing:
                    shares.append(float(timing.group(1)) / (elapsed * 1000))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. status {failures[0]}")
    return {
        "rps": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "dynamodb_share": statistics.median(shares),
    }


def measure(requests_per_level: int) -> dict[int, dict[str, float]]:
    with dynamodb_local() as engine:
        endpoint = engine.endpoint
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "TOKEN_KEYRING": Keyring.generate_json("b1"),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        customer = [str(DRMTOKEN), "customers", "create", "bench"]
        secret = AUTH.split(",")[1]
        port = free_port()
        server = subprocess.Popen(
            [str(DRMTOKEN), "serve", "--port", str(port), "--no-demo", "--server-timing"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            for line in server.stderr:
                if line.startswith("listening on"):
                    break
            threading.Thread(target=server.stderr.read, daemon=True).start()  # keep draining the access log
            subprocess.run(customer, env=env, check=True, capture_output=True)
            _add_known_authenticator(endpoint, secret)
            run_clients(port, 2, 25)  # warm both the server and DynamoDB Local's JIT
            return {
                clients: run_clients(port, clients, max(1, requests_per_level // clients)) for clients in (1, 4, 16)
            }
        finally:
            server.terminate()
            server.wait(timeout=20)


def _add_known_authenticator(endpoint: str, secret: str) -> None:
    import boto3

    from drmtoken_cli.admin_store import AdminStore

    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
    )
    AdminStore(client, "drm-token-customers", "drm-token-content-keys").add_authenticator("bench", "test", secret)
