"""The key provider and the held-key token form: service time and DynamoDB calls, answers stubbed in-process."""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from botocore.stub import Stubber

from bench.service import AUTH, quiet_stdout, warm_shard_count
from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.adapters.items import held_key_item
from drmtoken.core.account import hash_secret
from drmtoken.core.heldkeys import HeldKey, seal_held_key
from drmtoken.core.token import Keyring
from drmtoken_cli.devserver.events import rest_event
from drmtoken_cli.devserver.lambda_host import LocalContext, prepare_environment
from tests.support.apigw import speke_event
from tests.support.cpix import ALL_SYSTEMS, speke_v2
from tests.support.lambdas import TEMPLATE

CUSTOMER_ITEM = {
    "customerId": {"S": "bench"},
    "status": {"S": "active"},
    "entitlements": {"M": {"widevine": {"BOOL": True}, "fairplay": {"BOOL": True}}},
    "authenticatorHashes_test": {"SS": [hash_secret(AUTH.split(",")[1])]},
}
TRACKS = ("SD", "HD", "UHD", "AUDIO", "STEREO_AUDIO", "MULTICHANNEL_AUDIO", "UHD2", "VIDEO")


def _held_items(kids: list[str], content_id: str) -> list[dict[str, Any]]:
    sealing = Keyring.from_json(os.environ["KEY_SEALING_KEYRING"])
    items = []
    for kid, track in zip(kids, TRACKS, strict=False):
        key = HeldKey.new(uuid.UUID(kid).hex, content_id, track, None, 1)
        items.append(held_key_item("bench", key.kid, seal_held_key(sealing, "bench", key), content_id, track, 1))
    return items


def _prepare() -> Any:
    os.environ["TOKEN_KEYRING"] = Keyring.generate_json("b1")
    os.environ["KEY_SEALING_KEYRING"] = Keyring.generate_json("s1")
    prepare_environment(TEMPLATE, "test")
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    runtime.reset()
    warm_shard_count()
    return aws.client("dynamodb")


def _timed(call: Any, stub: Any, client: Any, count: int) -> tuple[list[float], list[str]]:
    """``count`` warm calls, each with its DynamoDB answers queued by ``stub``; the times and the last call's calls."""
    samples: list[float] = []
    names: list[str] = []

    def record(model: Any, **_: Any) -> None:
        names.append(model.name)

    client.meta.events.register("provide-client-params.dynamodb", record)
    try:
        for _ in range(count):
            names.clear()
            with Stubber(client) as stubber, quiet_stdout():
                stub(stubber)
                started = time.perf_counter()
                response = call()
                samples.append((time.perf_counter() - started) * 1000)
                stubber.assert_no_pending_responses()
            if response["statusCode"] != 200:
                raise RuntimeError(f"expected 200, got {response['statusCode']}: {response['body']}")
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb", record)
    return samples, list(names)


def measure(count: int) -> dict[str, dict[str, Any]]:
    """Per case: p50 in ms and the DynamoDB operations of one request."""
    client = _prepare()
    provider = TEMPLATE.functions()["KeyProviderFunction"].load_handler()
    token = TEMPLATE.functions()["WidevineFunction"].load_handler()
    results: dict[str, dict[str, Any]] = {}
    for size in (2, 8):
        kids = [str(uuid.uuid4()) for _ in range(size)]
        body = speke_v2("bench-title", dict(zip(kids, TRACKS, strict=False)), ALL_SYSTEMS)
        items = _held_items(kids, "bench-title")

        def held(stubber: Stubber, _items: list[dict[str, Any]] = items) -> None:
            stubber.add_response("get_item", {"Item": CUSTOMER_ITEM})
            stubber.add_response("batch_get_item", {"Responses": {os.environ["HELD_KEYS_TABLE"]: _items}})

        def new(stubber: Stubber, _size: int = size) -> None:
            stubber.add_response("get_item", {"Item": CUSTOMER_ITEM})
            stubber.add_response("batch_get_item", {"Responses": {os.environ["HELD_KEYS_TABLE"]: []}})
            for _ in range(_size):
                stubber.add_response("put_item", {})

        def ask(_body: bytes = body) -> dict[str, Any]:
            return provider(speke_event("bench", _body), LocalContext("bench"))

        for case, stub in ((f"key provider, {size} keys held", held), (f"key provider, {size} new keys", new)):
            samples, names = _timed(ask, stub, client, count)
            results[case] = {"p50_ms": statistics.median(samples), "dynamodb": names}

    # The held-key token form: one read before the charge (a cold cache); a warm function reuses the keys.
    kids = [str(uuid.uuid4()) for _ in range(4)]
    items = _held_items(kids, "bench-title")
    query = [("customerAuthenticator", AUTH), ("contentId", "bench-title"), ("securityLevel", "1")]
    query.append(("hdcpOutputControl", "0"))
    event = rest_event("GET", f"/hms/wv/token?{urlencode(query)}", [], b"")

    def issue() -> dict[str, Any]:
        return token(json.loads(json.dumps(event)), LocalContext("bench"))

    def cold(stubber: Stubber) -> None:
        runtime.get_runtime().held_keys._titles.clear()  # type: ignore[attr-defined]  # the title's read is paid
        stubber.add_response("query", {"Items": items, "Count": len(items), "ScannedCount": len(items)})
        stubber.add_response("transact_write_items", {})

    samples, names = _timed(issue, cold, client, count)
    results["token by contentId (4 keys), keys not cached"] = {"p50_ms": statistics.median(samples), "dynamodb": names}
    _timed(issue, cold, client, 1)  # fills the cache

    def warm(stubber: Stubber) -> None:
        stubber.add_response("transact_write_items", {})

    samples, names = _timed(issue, warm, client, count)
    results["token by contentId (4 keys), keys cached"] = {"p50_ms": statistics.median(samples), "dynamodb": names}
    return results
