"""A use is never stranded (docs/rights-api.md §7), on the real engine while it misbehaves.

DynamoDB Local is frozen around the reservation (SIGSTOP), or the reservation's answers are
dropped after it committed, or the give-back fails: the redemption answers 503, and the
player's retry (the same request, as Shaka sends it) gets its license. maxUses still holds.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.adapters.records import DynamoUses
from drmtoken.core.errors import DependencyError
from drmtoken.redeem.clearkey import ClearKeyBackend
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.dynamodb_local import LocalEngine
from tests.support.faults import AnswerDropper
from tests.support.lambdas import WV_PATH, error_of, invoke
from tests.support.requests import widevine

pytestmark = pytest.mark.integration
REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1


@pytest.fixture
def one_use(local_store: AdminStore, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The license URL of a fresh maxUses=1 token (Clear Key on)."""
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    local_store.create_customer("acme", widevine=True, limits={})
    authenticator = "acme," + local_store.add_authenticator("acme", "test")
    return str(invoke(rest_event("GET", WV_PATH, widevine(authenticator, maxUses="1")))["body"])


def license_request(url: str, source_ip: str = "203.0.113.7") -> dict[str, Any]:
    token = url.split("ExpressPlayToken=", 1)[1]
    event = rest_event(
        "POST", f"/hms/ck/rights/?ExpressPlayToken={token}", headers={"Content-Type": "application/json"}
    )
    event.update(body=base64.b64encode(REQUEST).decode(), isBase64Encoded=True)
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


def uses_taken(local_env: dict[str, str]) -> int:
    items = aws.client("dynamodb").scan(TableName=local_env["RECORDS_TABLE"])["Items"]
    counters = [item for item in items if item["pk"]["S"].startswith("uses#")]
    return int(counters[0]["uses"]["N"]) if counters else 0


def test_a_reservation_that_commits_after_its_503_is_the_retrys(
    one_use: str, local_env: dict[str, str], dynamodb_engine: LocalEngine
) -> None:
    runtime.get_rights_ports()  # a warm function: its client exists before the engine stalls
    with dynamodb_engine.paused(4):
        stalled = invoke(license_request(one_use))
    assert error_of(stalled)[:2] == (503, -2030)
    deadline = time.monotonic() + 5
    while uses_taken(local_env) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)  # on thaw the engine runs the queued reservation: the use is taken
    assert uses_taken(local_env) == 1
    assert invoke(license_request(one_use))["statusCode"] == 200  # the retry finds it
    assert uses_taken(local_env) == 1
    assert error_of(invoke(license_request(one_use, "198.51.100.1")))[:2] == (403, -4010)  # maxUses holds


def test_reservation_answers_lost_then_the_retry_has_the_use(
    one_use: str, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("UpdateItem",), count=3) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        lost = invoke(license_request(one_use))  # every try's answer is dropped; the first committed
    assert proxy.dropped == 3 and error_of(lost)[:2] == (503, -2030)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", local_env["AWS_ENDPOINT_URL_DYNAMODB"])
    runtime.reset()
    assert invoke(license_request(one_use))["statusCode"] == 200
    assert uses_taken(local_env) == 1


def test_a_settle_whose_answers_are_all_lost_leaves_the_retry_its_license(
    one_use: str, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settle lands and its three answers are lost: 503, the use given back, the retry licensed, one use."""
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("UpdateItem",), count=3, skip=1) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        lost = invoke(license_request(one_use))  # the reservation passes; every try of its settle is answered by none
    assert proxy.dropped == 3 and error_of(lost)[:2] == (503, -2030)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", local_env["AWS_ENDPOINT_URL_DYNAMODB"])
    runtime.reset()
    assert uses_taken(local_env) == 0  # the settled use was never delivered: it came back
    assert invoke(license_request(one_use))["statusCode"] == 200
    assert uses_taken(local_env) == 1
    assert error_of(invoke(license_request(one_use, "198.51.100.1")))[:2] == (403, -4010)  # maxUses holds


def test_one_lost_answer_is_retried_by_botocore_and_the_license_is_answered(
    one_use: str, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("UpdateItem",), count=1) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        response = invoke(license_request(one_use))
    assert proxy.dropped == 1 and response["statusCode"] == 200
    assert uses_taken(local_env) == 1


def test_a_give_back_that_fails_leaves_the_use_to_the_retry(
    one_use: str, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_issue = ClearKeyBackend.issue

    def fails(*_: Any, **__: Any) -> Any:
        raise DependencyError("back end unreachable")

    def give_back_fails(*_: Any, **__: Any) -> None:
        raise DependencyError("TransactionConflict")

    with monkeypatch.context() as patched:
        patched.setattr(ClearKeyBackend, "issue", fails)
        patched.setattr(DynamoUses, "give_back", give_back_fails)
        assert error_of(invoke(license_request(one_use)))[:2] == (503, -2030)
    assert ClearKeyBackend.issue is real_issue
    assert invoke(license_request(one_use))["statusCode"] == 200
    assert uses_taken(local_env) == 1


def test_the_last_use_in_flight_is_503_to_others_then_theirs_when_given_back(
    one_use: str, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    holding, release = threading.Event(), threading.Event()
    real_issue = ClearKeyBackend.issue

    def slow_then_fails(self: ClearKeyBackend, claims: Any, body: bytes, *args: Any) -> Any:
        if threading.current_thread().name.startswith("first"):
            holding.set()
            release.wait(10)
            raise DependencyError("back end failed")
        return real_issue(self, claims, body, *args)

    monkeypatch.setattr(ClearKeyBackend, "issue", slow_then_fails)
    runtime.get_rights_ports()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="first") as first:
        pending = first.submit(invoke, license_request(one_use, "198.51.100.1"))
        assert holding.wait(10)
        other = invoke(license_request(one_use, "198.51.100.2"))  # another player, while the last use is held
        assert error_of(other)[:2] == (503, -2030) and other["headers"]["Retry-After"] == "1"
        release.set()
        assert error_of(pending.result(10))[:2] == (503, -2030)  # it failed: its use went back
    assert invoke(license_request(one_use, "198.51.100.2"))["statusCode"] == 200  # the other player's retry
    assert uses_taken(local_env) == 1
