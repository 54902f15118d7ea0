"""Integration fixtures: AWS DynamoDB Local, installed and started by the test session itself."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drmtoken import aws
from drmtoken.store import CustomerStore
from drmtoken_cli.local import free_port
from drmtoken_cli.tables import create_tables
from tests.conftest import TEMPLATE
from tests.dynamodb_local import DynamoDBLocalUnavailable, LocalEngine
from tests.dynamodb_local import dynamodb_local as start_dynamodb_local

DRMTOKEN = Path(sys.executable).parent / "drmtoken"


@pytest.fixture(scope="session")
def dynamodb_engine() -> Iterator[LocalEngine]:
    """A DynamoDB Local that lives for the whole test session."""
    try:
        with start_dynamodb_local() as engine:
            yield engine
    except DynamoDBLocalUnavailable as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def dynamodb_local(dynamodb_engine: LocalEngine) -> str:
    """The endpoint URL of the session's DynamoDB Local."""
    return dynamodb_engine.endpoint


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
def env(local_env: dict[str, str]) -> dict[str, str]:
    """What a `drmtoken` child process needs: the local engine and the keyring the functions use."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": local_env["AWS_ENDPOINT_URL_DYNAMODB"],
        "TOKEN_KEYRING": local_env["TOKEN_KEYRING"],
    }


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


@pytest.fixture
def secrets_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
