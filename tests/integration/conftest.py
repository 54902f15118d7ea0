"""Integration fixtures: AWS DynamoDB Local, installed and started by the test session itself.

DynamoDB Local ships inside the npm package amplify-dynamodb-simulator; the session
installs it with `npm ci` when it is missing, starts it in memory on a free port,
and stops it at the end. Clients reach it at 127.0.0.1 only. (It has no option to
choose its listening address; it listens on the port on all interfaces.)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from drmtoken import aws
from drmtoken.store import CustomerStore
from drmtoken_cli.tables import create_tables
from tests.conftest import TEMPLATE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "tools" / "dynamodb-local"
EMULATOR = PACKAGE_DIR / "node_modules" / "amplify-dynamodb-simulator" / "emulator"
DRMTOKEN = Path(sys.executable).parent / "drmtoken"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_dynamodb_local() -> None:
    if (EMULATOR / "DynamoDBLocal.jar").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install DynamoDB Local (amplify-dynamodb-simulator)")
    subprocess.run([npm, "ci", "--prefix", str(PACKAGE_DIR), "--no-audit", "--no-fund", "--loglevel=error"], check=True)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """The endpoint URL of a DynamoDB Local that lives for the whole test session."""
    install_dynamodb_local()
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java 17 is needed to run DynamoDB Local")
    port = free_port()
    process = subprocess.Popen(
        [
            java,
            f"-Djava.library.path={EMULATOR / 'DynamoDBLocal_lib'}",
            "-jar",
            str(EMULATOR / "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",  # every region and credential sees the same tables: CLI, server and tests
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_tables()
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"DynamoDB Local did not start: {process.stderr.read().decode() if process.stderr else ''}")
            time.sleep(0.2)
    yield endpoint
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def local_env(
    aws_sandbox: None, dynamodb_local: str, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """This process pointed at DynamoDB Local, with fresh tables from template.yaml."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local)
    client = aws.client("dynamodb")
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    create_tables(client, template=TEMPLATE)
    return {**service_env, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local}


@pytest.fixture
def local_store(local_env: dict[str, str]) -> CustomerStore:
    return CustomerStore(aws.client("dynamodb"), local_env["CUSTOMERS_TABLE"], local_env["CONTENT_KEYS_TABLE"])


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
    """Run the installed `drmtoken` command."""
    result = subprocess.run(
        [str(DRMTOKEN), *args], env=subprocess_env(env), capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"drmtoken {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
