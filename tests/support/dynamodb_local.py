"""AWS DynamoDB Local, installed from npm (amplify-dynamodb-simulator) and run in memory on a free port.

Used by the integration tests and by `make bench`. DynamoDB Local has no option to
choose its listening address, so it listens on its port on all interfaces; every
client here reaches it at 127.0.0.1, and it is stopped when the context ends.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from drmtoken_cli.devserver.net import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "tools" / "dynamodb-local"
EMULATOR = PACKAGE_DIR / "node_modules" / "amplify-dynamodb-simulator" / "emulator"


class DynamoDBLocalUnavailable(RuntimeError):
    pass


def install() -> None:
    """`npm ci` the pinned package when its jar is missing."""
    if (EMULATOR / "DynamoDBLocal.jar").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalUnavailable("npm is needed to install DynamoDB Local (amplify-dynamodb-simulator)")
    subprocess.run([npm, "ci", "--prefix", str(PACKAGE_DIR), "--no-audit", "--no-fund", "--loglevel=error"], check=True)


@dataclass
class LocalEngine:
    """A running DynamoDB Local: its endpoint, and its process for tests that stall it."""

    endpoint: str
    process: subprocess.Popen[bytes]

    @contextlib.contextmanager
    def paused(self, seconds: float) -> Iterator[None]:
        """Freeze the engine (SIGSTOP) now and thaw it after ``seconds``, or on leaving, whichever is first.

        A frozen engine still accepts connections (the kernel queues them) but answers
        nothing, as a stalled DynamoDB would; what was sent meanwhile is processed on thaw.
        """
        self.process.send_signal(signal.SIGSTOP)
        thaw = threading.Timer(seconds, self.process.send_signal, (signal.SIGCONT,))
        thaw.start()
        try:
            yield
        finally:
            thaw.cancel()
            self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def dynamodb_local() -> Iterator[LocalEngine]:
    """Install if needed, start, wait until it answers; yields the running engine."""
    install()
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalUnavailable("Java 17 is needed to run DynamoDB Local")
    port = free_port()
    command = [
        java,
        f"-Djava.library.path={EMULATOR / 'DynamoDBLocal_lib'}",
        "-jar",
        str(EMULATOR / "DynamoDBLocal.jar"),
        "-inMemory",
        "-sharedDb",  # every region and credential sees the same tables: CLI, server and tests
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    # Its own working directory: DynamoDB Local writes dynamodb-local-metadata.json (an
    # installation id) there even with telemetry off, and must not write into the checkout.
    with tempfile.TemporaryDirectory(prefix="dynamodb-local-") as workdir:
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(endpoint, process)
            yield LocalEngine(endpoint, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_ready(endpoint: str, process: subprocess.Popen[bytes]) -> None:
    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_tables()
            return
        except Exception as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                detail = process.stderr.read().decode() if process.stderr else ""
                raise DynamoDBLocalUnavailable(f"DynamoDB Local did not start: {detail}") from error
            time.sleep(0.2)
