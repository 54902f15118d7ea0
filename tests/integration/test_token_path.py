"""The token path on the real engine: concurrency, revocation, disabling, an unreachable engine."""

from __future__ import annotations

import json
import time

import pytest

from drmtoken import runtime
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.net import free_port
from tests.support.apigw import rest_event
from tests.support.cli import drmtoken
from tests.support.lambdas import WV_PATH, error_of, invoke, tokens_in_parallel
from tests.support.requests import widevine

pytestmark = pytest.mark.integration


@pytest.fixture
def acme(local_store: AdminStore) -> str:
    local_store.create_customer("acme", widevine=True, fairplay=True, limits={"test": 50})
    return "acme," + local_store.add_authenticator("acme", "test")


def test_200_parallel_requests_issue_exactly_the_limit(acme: str, local_env: dict[str, str]) -> None:
    outcomes = tokens_in_parallel(acme, 200)
    assert outcomes.count(0) == 50
    assert outcomes.count(-2019) == 150
    shown = drmtoken(
        "customers", "show", "acme", env={"AWS_ENDPOINT_URL_DYNAMODB": local_env["AWS_ENDPOINT_URL_DYNAMODB"]}
    )
    assert json.loads(shown.stdout)["environments"]["test"]["tokensIssued"] == 50


def test_revocation_takes_effect_on_the_next_request(acme: str, local_store: AdminStore) -> None:
    assert invoke(rest_event("GET", WV_PATH, widevine(acme)))["statusCode"] == 200
    local_store.revoke_authenticator("acme", acme.split(",")[1])
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(acme))))[:2] == (401, -2018)


def test_disabling_takes_effect_on_the_next_request(acme: str, local_store: AdminStore) -> None:
    assert invoke(rest_event("GET", WV_PATH, widevine(acme)))["statusCode"] == 200
    local_store.set_status("acme", active=False)
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(acme))))[:2] == (401, -2031)
    local_store.set_status("acme", active=True)
    assert invoke(rest_event("GET", WV_PATH, widevine(acme)))["statusCode"] == 200


def test_unreachable_engine_is_503_and_counts_nothing(
    acme: str, local_store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    runtime.reset()
    started = time.monotonic()
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(acme, errorFormat="json"))))[:2] == (503, -2030)
    assert time.monotonic() - started < 10  # bounded retries, short timeouts: no hang until the Lambda timeout
    assert local_store.get_customer("acme").issued["test"] == 0
