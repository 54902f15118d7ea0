"""openapi.yaml is checked against the behaviour: schemathesis drives `drmtoken serve` on DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from drmtoken.core.token import Keyring
from tests.support.server import Server, start_server

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 60

schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")


@pytest.fixture(scope="module")
def api(dynamodb_local: str) -> Iterator[Server]:
    """One server for the module, with the demo customer whose authenticator the spec's examples use."""
    server = start_server({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local, "TOKEN_KEYRING": Keyring.generate_json()})
    yield server
    assert server.stop() == 0


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_openapi(case: schemathesis.Case[Any], api: Server) -> None:
    # Schema-valid data can still be refused: the key-source rule spans several parameters,
    # and a valid RFC 3339 time can lie in the past. Every refusal is checked against the
    # documented statuses, content types and bodies instead.
    case.call_and_validate(base_url=api.base, excluded_checks=[positive_data_acceptance])
