"""Unit-test fixtures: moto for DynamoDB, started once for this package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from drmtoken.adapters import aws
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.ksm_standin import KsmStandIn
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.lambdas import TEMPLATE


@pytest.fixture(scope="package")
def moto_session() -> Iterator[Any]:
    """One moto mock for the unit tests, emptied before each test that uses it (starting one costs ~0.1 s)."""
    mock = mock_aws()
    mock.start()
    yield mock
    mock.stop()


@pytest.fixture
def dynamodb(moto_session: Any, service_env: dict[str, str]) -> Iterator[Any]:
    """moto DynamoDB with the tables of template.yaml, and nothing else in it."""
    moto_session.reset()
    client = aws.client("dynamodb")
    for arguments in TEMPLATE.tables().values():
        client.create_table(**{k: v for k, v in arguments.items() if k != "TimeToLiveSpecification"})
    yield client


@pytest.fixture
def store(dynamodb: Any, service_env: dict[str, str]) -> AdminStore:
    """The operator's view of the tables, to set the scene and read the result."""
    return AdminStore(dynamodb, service_env["CUSTOMERS_TABLE"], service_env["CONTENT_KEYS_TABLE"])


@pytest.fixture
def authenticator(store: AdminStore) -> str:
    """A live test-environment authenticator of customer ``acme``, entitled to both DRMs."""
    store.create_customer("acme", widevine=True, fairplay=True)
    return "acme," + store.add_authenticator("acme", "test")


@pytest.fixture
def dynamodb_calls(dynamodb: Any) -> Iterator[list[str]]:
    """Names of the DynamoDB operations the token functions make."""
    calls: list[str] = []
    client = aws.client("dynamodb")

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", record)
    yield calls
    client.meta.events.unregister("before-call.dynamodb", record)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> Iterator[WidevineStandIn]:
    """The Widevine license service's stand-in on 127.0.0.1, the functions pointed at it."""
    with WidevineStandIn() as service:
        monkeypatch.setenv("WIDEVINE_PROVIDER", service.provider_json())
        yield service


@pytest.fixture
def ksm(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> Iterator[KsmStandIn]:
    """The KSM's stand-in on 127.0.0.1, the FairPlay function pointed at it."""
    with KsmStandIn() as stand_in:
        monkeypatch.setenv("FAIRPLAY_KSM", stand_in.url)
        yield stand_in
