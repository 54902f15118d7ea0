"""Integration fixtures: AWS DynamoDB Local, installed and started by the test session itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drmtoken.adapters import aws
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.net import free_port
from drmtoken_cli.devserver.tables import create_tables
from tests.support.dynamodb_local import DynamoDBLocalUnavailable, LocalEngine
from tests.support.dynamodb_local import dynamodb_local as start_dynamodb_local
from tests.support.lambdas import TEMPLATE


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
    create_tables(client, TEMPLATE)
    return {**service_env, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local}


@pytest.fixture
def env(local_env: dict[str, str]) -> dict[str, str]:
    """What a `drmtoken` child process needs: the local engine and the keyring the functions use."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": local_env["AWS_ENDPOINT_URL_DYNAMODB"],
        "TOKEN_KEYRING": local_env["TOKEN_KEYRING"],
    }


@pytest.fixture
def local_store(local_env: dict[str, str]) -> AdminStore:
    return AdminStore(aws.client("dynamodb"), local_env["CUSTOMERS_TABLE"], local_env["CONTENT_KEYS_TABLE"])


@pytest.fixture
def secrets_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
