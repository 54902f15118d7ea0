"""Callers learn nothing from how authentication fails, and no dependency can hang a request."""

from __future__ import annotations

import json
import socket
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.core import account
from drmtoken.core.account import AUTHENTICATION_FAILURE_FLOOR
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.lambdas import FUNCTIONS, TEMPLATE, WV_PATH, error_of, invoke
from tests.support.requests import widevine


@pytest.fixture
def dynamodb_requests(dynamodb: Any) -> Iterator[list[tuple[str, int]]]:
    """(operation, request body size) of every DynamoDB call the token path makes."""
    seen: list[tuple[str, int]] = []
    client = aws.client("dynamodb")

    def record(request: Any, **_: Any) -> None:
        seen.append((request.headers.get("X-Amz-Target", b"").decode(), len(request.body or b"")))

    client.meta.events.register("before-send.dynamodb", record)
    yield seen
    client.meta.events.unregister("before-send.dynamodb", record)


def test_unknown_customer_and_wrong_secret_are_indistinguishable(
    authenticator: str, store: AdminStore, dynamodb_requests: list[tuple[str, int]]
) -> None:
    dynamodb_requests.clear()  # forget the fixture's own writes
    answers = []
    for who in ("acme", "acmx"):  # acme exists, acmx does not; equal lengths, so even request sizes match
        response = invoke(rest_event("GET", WV_PATH, widevine(f"{who},{'5' * 32}", errorFormat="json")))
        body = json.loads(response["body"])
        body.pop("requestId")
        answers.append((response["statusCode"], response["headers"], body))
    assert answers[0] == answers[1]
    assert answers[0][2]["errorCode"] == -2018
    half = len(dynamodb_requests) // 2
    assert dynamodb_requests[:half] == dynamodb_requests[half:]  # the same calls, of the same sizes
    # A new function instance reads each customer's shard count once (an unknown one's too), then charges.
    assert [name for name, _ in dynamodb_requests[:half]] == [
        "DynamoDB_20120810.GetItem",
        "DynamoDB_20120810.TransactWriteItems",
    ]


def test_client_timeouts_and_retries_fit_inside_the_lambda_timeout() -> None:
    config: Any = aws.CLIENT_CONFIG  # botocore's stubs do not declare Config's attributes
    assert config.connect_timeout <= 2 and config.read_timeout <= 3
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    worst_case = (config.connect_timeout + config.read_timeout) * config.retries["total_max_attempts"]
    lambda_timeout = TEMPLATE.document["Globals"]["Function"]["Timeout"]
    assert worst_case + 1 < lambda_timeout  # back-off and the rest of the request fit in what is left
    assert FUNCTIONS["WidevineFunction"].environment["KEYRING_CACHE_SECONDS"] == "300"


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_dynamodb_that_never_answers_is_503_within_bounds(
    authenticator: str, store: AdminStore, black_hole: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", black_hole)
    runtime.reset()
    started = time.monotonic()
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator, errorFormat="json")))
    elapsed = time.monotonic() - started
    assert error_of(response) == (503, -2030, "application/json")
    # 3 attempts x 1 s read timeout + back-off of at most 1 s and 2 s: at most ~6 s, inside the 10 s Lambda timeout.
    assert elapsed < 9, elapsed
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    runtime.reset()
    assert invoke(rest_event("GET", WV_PATH, widevine(authenticator)))["statusCode"] == 200
    assert store.get_customer("acme").issued["test"] == 1


def test_every_authentication_refusal_waits_out_the_same_floor(
    authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown customer and wrong secret both sleep to the floor; other refusals and successes do not."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # service calls time.sleep
    # The refusal's own clock stands still: its wait is the whole floor however slow this machine is
    # (under a parallel suite a refusal took more than the 25 ms floor, and no wait was left).
    monkeypatch.setattr(account, "time", types.SimpleNamespace(monotonic=lambda: 0.0, sleep=waits.append))
    store.set_limit("acme", "test", 1)
    cases = [
        ("acme,5" + "5" * 31, 401),  # wrong secret: DynamoDB returns the item
        ("acmx,5" + "5" * 31, 401),  # unknown customer: it returns nothing
        (authenticator, 200),
        (authenticator, 403),  # -2019
    ]
    for who, status in cases:
        before = len(waits)
        assert invoke(rest_event("GET", WV_PATH, widevine(who)))["statusCode"] == status
        slept = waits[before:]
        if status == 401:
            assert len(slept) == 1 and 0 < slept[0] <= AUTHENTICATION_FAILURE_FLOOR
        else:
            assert slept == []


def test_aws_region_alone_chooses_the_region_as_the_aws_cli_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from drmtoken.adapters import aws

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert aws.client("dynamodb").meta.region_name == "eu-west-3"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert aws.client("dynamodb").meta.region_name == "ap-south-1"
