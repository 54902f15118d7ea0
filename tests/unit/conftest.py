"""Unit-test fixtures: moto for DynamoDB, started once for this package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from drmtoken import aws
from drmtoken.store import CustomerStore
from tests.conftest import TEMPLATE


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
        client.create_table(**arguments)
    yield client


@pytest.fixture
def store(dynamodb: Any, service_env: dict[str, str]) -> CustomerStore:
    return CustomerStore(dynamodb, service_env["CUSTOMERS_TABLE"], service_env["CONTENT_KEYS_TABLE"])


@pytest.fixture
def authenticator(store: CustomerStore) -> str:
    """A live test-environment authenticator of customer ``acme``, entitled to both DRMs."""
    store.create_customer("acme", widevine=True, fairplay=True, limits={})
    return "acme," + store.add_authenticator("acme", "test")
