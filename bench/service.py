"""Service time of the real handlers against the floor of unavoidable work, in one process.

The DynamoDB answer is supplied in-process by botocore's Stubber, so no network is
timed but the client still serialises each call and resolves its endpoint as in Lambda.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from botocore.stub import Stubber
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.adapters.dynamodb import DynamoAccounts
from drmtoken.core.token import Keyring
from drmtoken_cli.devserver.events import rest_event
from drmtoken_cli.devserver.lambda_host import LocalContext
from drmtoken_cli.devserver.lambda_host import prepare_environment as prepare_functions_environment
from drmtoken_cli.devserver.template import Template
from tests.support.lambdas import TEMPLATE

AUTH = "bench,0123456789abcdef0123456789abcdef"
KEK = "000102030405060708090a0b0c0d0e0f"
EK = "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
CONTENT_KEY = "00112233445566778899aabbccddeeff"
IV = "0f0e0d0c0b0a09080706050403020100"

QUERIES = {
    "wv": [
        ("customerAuthenticator", AUTH),
        ("kid", "^kid1"),
        ("kek", KEK),
        ("ek", EK),
        ("securityLevel", "1"),
        ("hdcpOutputControl", "0"),
        ("cookie", "bench"),
    ],
    "fp": [("customerAuthenticator", AUTH), ("contentKey", CONTENT_KEY), ("iv", IV), ("cookie", "bench")],
}


WARM_UP = 50


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send fd 1 (function logs and EMF) to /dev/null: in Lambda they go to a pipe, not a terminal."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def prepare_environment(template: Template = TEMPLATE) -> None:
    """The functions' environment as `serve` sets it, with a fresh keyring and no real AWS."""
    os.environ["TOKEN_KEYRING"] = Keyring.generate_json("b1")
    prepare_functions_environment(template, "test")
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    runtime.reset()
    warm_shard_count()


def warm_shard_count(customer_id: str = "bench") -> None:
    """A warm function has read the customer's shard count (it does once a minute): the figures are warm requests'."""
    with Stubber(aws.client("dynamodb")) as stubber:
        stubber.add_response("get_item", {"Item": {}})
        accounts = runtime.get_runtime().accounts
        assert isinstance(accounts, DynamoAccounts)
        accounts.shard_count(customer_id)


def time_handler(handler: Callable[..., Any], event: dict[str, Any], calls: int) -> list[float]:
    """Per-call seconds of the warm handler, with the DynamoDB answer stubbed in-process."""
    client = aws.client("dynamodb")
    with Stubber(client) as stubber:
        for _ in range(calls + WARM_UP):
            stubber.add_response("transact_write_items", {})
        return _time_calls(handler, event, calls)


def time_handler_without_client_call(handler: Callable[..., Any], event: dict[str, Any], calls: int) -> list[float]:
    """The same, with the boto3 call itself replaced by its answer: what the service costs around it."""
    client = aws.client("dynamodb")
    client.transact_write_items = lambda **_: {}  # an instance attribute shadows the generated method
    try:
        return _time_calls(handler, event, calls)
    finally:
        del client.transact_write_items


def _time_calls(handler: Callable[..., Any], event: dict[str, Any], calls: int) -> list[float]:
    samples: list[float] = []
    with quiet_stdout():
        for index in range(calls + WARM_UP):
            context = LocalContext("bench")  # made by the Lambda runtime, outside the handler's time
            started = time.perf_counter()
            response = handler(event, context)
            elapsed = time.perf_counter() - started
            if response["statusCode"] != 200:
                raise RuntimeError(f"benchmark request failed: {response['body']}")
            if index >= WARM_UP:  # the first calls warm caches, as the first requests of a container do
                samples.append(elapsed)
    return samples


def time_floor(drm: str, calls: int) -> list[float]:
    """The unavoidable work, written plainly: parse, unwrap when kek/ek are given, seal, encode."""
    query = urlencode(QUERIES[drm])
    key = AESGCM(os.urandom(32))
    samples: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        params = dict(parse_qsl(query))
        if "ek" in params:
            content_key = aes_key_unwrap(bytes.fromhex(params["kek"]), bytes.fromhex(params["ek"]))
        else:
            content_key = bytes.fromhex(params["contentKey"])
        claims = {k: v for k, v in params.items() if k not in ("customerAuthenticator", "kek", "ek")}
        claims["contentKey"] = content_key.hex()
        nonce = os.urandom(12)
        sealed = key.encrypt(nonce, json.dumps(claims).encode(), b"header")
        base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=")
        samples.append(time.perf_counter() - started)
    return samples


def measure(calls: int) -> dict[str, dict[str, float]]:
    template = TEMPLATE
    prepare_environment(template)
    functions = template.functions()
    results: dict[str, dict[str, float]] = {}
    for drm, logical_id, path in (
        ("wv", "WidevineFunction", "/hms/wv/token"),
        ("fp", "FairPlayFunction", "/hms/fp/token"),
    ):
        handler = functions[logical_id].load_handler()
        event = rest_event("GET", f"{path}?{urlencode(QUERIES[drm])}", [("Host", "bench")], b"")
        service = time_handler(handler, event, calls)
        without_call = time_handler_without_client_call(handler, event, calls)
        floor = time_floor(drm, calls)
        results[drm] = {
            "p50_ms": statistics.median(service) * 1000,
            "p99_ms": percentile(service, 0.99) * 1000,
            "without_client_call_p50_ms": statistics.median(without_call) * 1000,
            "floor_p50_ms": statistics.median(floor) * 1000,
        }
    return results
