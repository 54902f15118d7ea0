"""Exact billing on the real engine while the network misbehaves: a request counts at most once.

DynamoDB Local is frozen mid-request (SIGSTOP) or its answer is dropped after the write
committed; botocore then sends the charge again. Every case is bounded in time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from drmtoken import runtime
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.dynamodb_local import LocalEngine
from tests.support.faults import AnswerDropper
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import REMOVE, RFC3394_KEK, fairplay, widevine

pytestmark = pytest.mark.integration


@pytest.fixture(params=[1, 8], ids=["1 shard", "8 shards"])
def shards(request: pytest.FixtureRequest) -> int:
    """Every case holds for a customer whose allowance is one item and for one split over 8 (budget moves)."""
    return int(request.param)


@pytest.fixture
def one_token_left(local_store: AdminStore, shards: int) -> str:
    """A customer who has used 0 of 1 tokens."""
    local_store.create_customer("acme", widevine=True, fairplay=True, limits={"test": 1})
    local_store.set_shards("acme", shards)
    return "acme," + local_store.add_authenticator("acme", "test")


def issued(store: AdminStore) -> int:
    return store.get_customer("acme").issued["test"]


def test_a_dropped_answer_is_retried_and_counts_once(
    shards: int,
    one_token_left: str,
    local_store: AdminStore,
    local_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes = ("UpdateItem", "TransactWriteItems")  # the charge, whichever write it is made of
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], writes) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        response = invoke(rest_event("GET", WV_PATH, widevine(one_token_left)))
    assert proxy.dropped == 1
    sent = [target for target in proxy.seen if target in proxy.targets]
    assert len(sent) == 2 if shards == 1 else len(sent) >= 2  # the write was sent again (and budget moved)
    assert response["statusCode"] == 200
    assert issued(local_store) == 1  # the customer with one token left got it


def test_engine_paused_1_5_s_answers_200_and_counts_once(
    one_token_left: str, local_store: AdminStore, dynamodb_engine: LocalEngine
) -> None:
    runtime.get_runtime()  # a warm function: the client exists before the engine stalls
    started = time.monotonic()
    with dynamodb_engine.paused(1.5):
        response = invoke(rest_event("GET", FP_PATH, fairplay(one_token_left)))
    elapsed = time.monotonic() - started
    assert elapsed >= 1.5  # the answer really waited for the stalled engine
    assert response["statusCode"] == 200, response["body"]
    assert issued(local_store) == 1


def test_engine_paused_past_the_deadline_counts_at_most_once_per_request(
    local_store: AdminStore, dynamodb_engine: LocalEngine, shards: int
) -> None:
    local_store.create_customer("acme", widevine=True, fairplay=True, limits={})
    local_store.set_shards("acme", shards)
    authenticator = "acme," + local_store.add_authenticator("acme", "test")
    event = rest_event("GET", WV_PATH, widevine(authenticator, errorFormat="json"))
    runtime.get_runtime()
    with dynamodb_engine.paused(8), ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda _: invoke(event), range(2)))
    assert [error_of(response)[:2] for response in responses] == [(503, -2030)] * 2
    # On thaw the engine runs every attempt it had queued: each request commits at most once.
    deadline = time.monotonic() + 5
    counts = [issued(local_store)]
    while time.monotonic() < deadline and counts[-1] < 2:
        time.sleep(0.2)
        counts.append(issued(local_store))
    assert max(counts) <= 2


def test_failing_key_store_requests_never_starve_valid_ones(local_store: AdminStore, shards: int) -> None:
    """60 -4019 requests on one route beside 20 valid ones on the other, with exactly 20 tokens allowed."""
    local_store.create_customer("acme", widevine=True, fairplay=True, limits={"test": 20})
    local_store.set_shards("acme", shards)
    authenticator = "acme," + local_store.add_authenticator("acme", "test")
    runtime.get_runtime()
    no_key = rest_event("GET", FP_PATH, fairplay(authenticator, contentKey=REMOVE, kek=RFC3394_KEK, kid="^none"))
    valid = rest_event("GET", WV_PATH, widevine(authenticator))
    events = [no_key, no_key, no_key, valid] * 20
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(
            pool.map(
                lambda event: error_of(invoke(event))[1] if event is no_key else invoke(event)["statusCode"], events
            )
        )
    assert codes[3::4] == [200] * 20
    # -4019, or -2019 once the 20 valid ones have used the allowance: the account's refusal comes first.
    assert set(codes) - {200} <= {-4019, -2019}
    assert issued(local_store) == 20
