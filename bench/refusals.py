"""Does the time of a -2018 tell whether the customer exists? Both refusals, timed on the real handler.

The DynamoDB answer is given as HTTP bytes (botocore's before-send hook), so botocore parses
it as it would DynamoDB's: with the customer's item for a wrong secret, without one for an
unknown customer. The two cases are interleaved so that drift on the machine hits both alike.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any
from urllib.parse import urlencode

from botocore.awsrequest import AWSResponse, HTTPHeaders

from bench.calls import USED_UP_ITEM
from bench.service import QUERIES, WARM_UP, prepare_environment, quiet_stdout, warm_shard_count
from drmtoken.adapters import aws
from drmtoken_cli.devserver.events import rest_event
from drmtoken_cli.devserver.lambda_host import LocalContext
from tests.support.lambdas import TEMPLATE


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Any:
        yield self.payload


def cancellation(item: dict[str, Any] | None) -> bytes:
    reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    if item is not None:
        reason["Item"] = item
    return json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": [reason],
        }
    ).encode()


def measure(calls: int) -> dict[str, float]:
    """p50 in ms of each refusal, and their difference in microseconds."""
    template = TEMPLATE
    prepare_environment(template)
    warm_shard_count("bencx")  # an unknown customer's count (1) is remembered as a known one's is
    handler = template.functions()["WidevineFunction"].load_handler()
    client = aws.client("dynamodb")
    wrong_secret = ("bench", cancellation({**USED_UP_ITEM, "tokensIssued_test": {"N": "0"}}))
    unknown = ("bencx", cancellation(None))  # same length of id: the requests are the same size
    answer: dict[str, bytes] = {}

    def reply(request: Any, **_: Any) -> AWSResponse:
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "bench"
        return AWSResponse(request.url, 400, headers, _Body(answer["body"]))

    client.meta.events.register_first("before-send.dynamodb", reply)
    samples: dict[str, list[float]] = {"wrong secret": [], "unknown customer": []}
    try:
        events = {}
        for name, (customer, _) in zip(samples, (wrong_secret, unknown), strict=True):
            query = [("customerAuthenticator", f"{customer},{'9' * 32}"), *QUERIES["wv"][1:]]
            events[name] = rest_event("GET", f"/hms/wv/token?{urlencode(query)}", [("Host", "bench")], b"")
        with quiet_stdout():
            for index in range(calls + WARM_UP):
                for name, (_, body) in zip(samples, (wrong_secret, unknown), strict=True):
                    answer["body"] = body
                    context = LocalContext("bench")
                    started = time.perf_counter()
                    response = handler(events[name], context)
                    elapsed = time.perf_counter() - started
                    if response["statusCode"] != 401:
                        raise RuntimeError(f"{name}: expected 401, got {response['statusCode']}: {response['body']}")
                    if index >= WARM_UP:
                        samples[name].append(elapsed)
    finally:
        client.meta.events.unregister("before-send.dynamodb", reply)
    wrong_ms = statistics.median(samples["wrong secret"]) * 1000
    unknown_ms = statistics.median(samples["unknown customer"]) * 1000
    # The attacker's own measure: in how many interleaved pairs was the wrong secret slower?
    pairs = list(zip(samples["wrong secret"], samples["unknown customer"], strict=True))
    slower = sum(wrong > unknown for wrong, unknown in pairs) / len(pairs)
    return {
        "wrong_secret_p50_ms": wrong_ms,
        "unknown_p50_ms": unknown_ms,
        "difference_us": (wrong_ms - unknown_ms) * 1000,
        "wrong_slower_share": slower,
    }
