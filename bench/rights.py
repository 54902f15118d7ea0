"""The rights routes measured like the token routes, in one process.

DynamoDB is answered by botocore's Stubber and the back ends in-process (the Widevine
service's HTTP answer and the KSM's are canned), so what is timed is the service itself:
read the request, open the token, check it, build and sign the back-end request, read the
answer, write the record. The floor is the unavoidable part written plainly: open the
token, and build (and for Widevine sign) the back-end request.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.stub import Stubber

from bench.service import WARM_UP, percentile, prepare_environment, quiet_stdout
from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.adapters.ksm import KsmClient
from drmtoken.adapters.widevine_service import WidevineLicenseService
from drmtoken.core.fairplay import ksm_request
from drmtoken.core.license import LICENSE, RENEWAL, RENEWAL_HEADER, Terms
from drmtoken.core.rights import STREAMING, Rights
from drmtoken.core.streams import new_stream, stream_of
from drmtoken.core.token import Keyring, open_token, seal_token
from drmtoken.core.widevine import WidevineProvider, inner_request, signed_message
from drmtoken_cli.devserver.events import rest_event
from drmtoken_cli.devserver.lambda_host import LocalContext
from tests.support.lambdas import TEMPLATE
from tests.support.widevine_proto import forged_renewal

KEY, IV, KID = (
    "00112233445566778899aabbccddeeff",
    "0f0e0d0c0b0a09080706050403020100",
    "80ea8bc8a58f990ad1f76bc665b30bfa",
)
PROVIDER = {
    "provider": "widevine_test",
    "signingKey": "11" * 32,
    "signingIv": "22" * 16,
    "licenseServiceUrl": "http://127.0.0.1:9/",
}
CHALLENGE = b"\x08\x01\x12\x10" + bytes(200)  # about the size of a real license request
SPC = bytes(1500)
CLEARKEY_REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()
ROUTES = {  # route -> (function, token DRM, request body, content type)
    "wv": ("WidevineRightsFunction", "wv", CHALLENGE, "application/octet-stream"),
    "fp": ("FairPlayRightsFunction", "fp", SPC, "application/octet-stream"),
    "ck": ("ClearKeyRightsFunction", "wv", CLEARKEY_REQUEST, "application/json"),
}


@dataclass
class BackEnds:
    """The back ends answered in-process; ``calls`` counts what reached them."""

    refuse: bool = False
    calls: int = 0

    def widevine(self, url: str, message: bytes, deadline: float) -> tuple[int, bytes]:
        self.calls += 1
        if self.refuse:
            return 200, b'{"status":"INVALID_LICENSE_CHALLENGE"}'
        return 200, json.dumps({"status": "OK", "license": base64.b64encode(bytes(700)).decode()}).encode()

    def ksm(self, message: bytes, deadline: float) -> tuple[int, bytes]:
        self.calls += 1
        if self.refuse:
            return 200, b'{"error":"unknown asset"}'
        return 200, json.dumps({"ckc": base64.b64encode(bytes(1100)).decode()}).encode()


def prepare() -> tuple[Keyring, dict[str, Callable[..., Any]], BackEnds]:
    prepare_environment()  # the template's variables: set what the rights routes need after them
    os.environ.update(
        CLEARKEY_ENABLED="true", WIDEVINE_PROVIDER=json.dumps(PROVIDER), FAIRPLAY_KSM="https://ksm.invalid/ckc"
    )
    runtime.reset()
    keyring = Keyring.from_json(os.environ["TOKEN_KEYRING"])
    functions = TEMPLATE.functions()
    handlers = {route: functions[function].load_handler() for route, (function, *_) in ROUTES.items()}
    back_ends = BackEnds()
    ports = runtime.get_rights_ports()
    wv, fp = runtime.widevine_backend(ports), runtime.fairplay_backend(ports)
    assert isinstance(wv, WidevineLicenseService) and isinstance(fp, KsmClient)
    wv._post = back_ends.widevine  # type: ignore[method-assign]  # the network, answered in-process
    fp._post = back_ends.ksm  # type: ignore[method-assign]
    return keyring, handlers, back_ends


def token(keyring: Keyring, drm: str, expires_in: int = 3600, **extra: Any) -> str:
    claims = {
        "tokenId": os.urandom(16).hex(),
        "drm": drm,
        "customerId": "bench",
        "environment": "test",
        "issuedAt": int(time.time()),
        "expiresAt": int(time.time()) + expires_in,
        "contentKey": KEY,
        "kid": KID,
        "securityLevel": 1,
        "hdcpOutputControl": 0,
        "iv": IV,
        "cookie": "bench",
        "extensions": [],
        **extra,
    }
    return seal_token(keyring, drm, claims)


def event(route: str, token_text: str, renews: str | None = None) -> dict[str, Any]:
    """A first license's request; with ``renews`` (a stream's ticket) that stream's renewal, as each DRM sends it."""
    _, _, body, content_type = ROUTES[route]
    headers = [("Content-Type", content_type)]
    if renews is not None and route == "wv":
        body = forged_renewal(renews.encode("ascii"))  # the CDM's RENEWAL, naming the license by its ticket
    elif renews is not None:
        headers.append((RENEWAL_HEADER, renews))
    return rest_event("POST", f"/hms/{route}/rights/?ExpressPlayToken={token_text}", headers, body, binary=True)


def renewing(keyring: Keyring, drm: str, **extra: Any) -> tuple[str, str]:
    """A renewing token and the ticket of a stream its first license began a minute ago."""
    token_id = os.urandom(16).hex()
    text = token(keyring, drm, tokenId=token_id, **{"renewalInterval": 60, **extra})
    return text, new_stream(keyring, token_id, int(time.time()) - 60, "benchbenchbench0").ticket


@contextmanager
def dynamodb_answers(answers: list[tuple[str, Any]]) -> Iterator[list[str]]:
    """DynamoDB answered by a Stubber with ``answers`` in order; yields the names of the calls made."""
    client = aws.client("dynamodb")
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("provide-client-params.dynamodb", count)
    with Stubber(client) as stubber:
        for operation, answer in answers:
            if answer == "used up":  # the counter at its limit, no reservation of this request's in it
                stubber.add_client_error(
                    operation,
                    service_error_code="ConditionalCheckFailedException",
                    http_status_code=400,
                    modeled_fields={"Item": {"uses": {"N": "1"}}},
                )
            else:
                stubber.add_response(operation, answer)
        yield calls
    client.meta.events.unregister("provide-client-params.dynamodb", count)


def measure(calls: int) -> dict[str, dict[str, float]]:
    """Service time p50/p99 per route (token without maxUses: one DynamoDB write, the record) and its floor."""
    keyring, handlers, _ = prepare()
    provider = WidevineProvider.from_json(json.dumps(PROVIDER))
    results: dict[str, dict[str, float]] = {}
    for route, (_, drm, body, _) in ROUTES.items():
        token_text = token(keyring, drm)
        results[route] = timed(handlers[route], event(route, token_text), calls)
        terms = Terms(LICENSE, Rights(STREAMING), int(time.time()))
        results[route]["floor_p50_ms"] = floor_p50_ms(keyring, provider, route, token_text, body, terms, calls)
        renewal_token, ticket = renewing(keyring, drm, maxUses=3)
        results[f"{route} renewal"] = timed(handlers[route], event(route, renewal_token, ticket), calls)
        renewal_terms = Terms(RENEWAL, Rights(STREAMING, renewal_interval=60), int(time.time()))
        results[f"{route} renewal"]["floor_p50_ms"] = floor_p50_ms(
            keyring, provider, route, renewal_token, body, renewal_terms, calls, ticket
        )
    return results


def timed(handler: Callable[..., Any], the_event: dict[str, Any], calls: int) -> dict[str, float]:
    """Service time p50/p99 of one request made ``calls`` times, DynamoDB answering the record's PutItem."""
    samples: list[float] = []
    with dynamodb_answers([("put_item", {})] * (calls + WARM_UP)), quiet_stdout():
        for index in range(calls + WARM_UP):
            context = LocalContext("bench")
            started = time.perf_counter()
            response = handler(the_event, context)
            elapsed = time.perf_counter() - started
            if response["statusCode"] != 200:
                raise RuntimeError(f"{the_event['path']}: {response['statusCode']} {response['body']}")
            if index >= WARM_UP:
                samples.append(elapsed)
    return {"p50_ms": statistics.median(samples) * 1000, "p99_ms": percentile(samples, 0.99) * 1000}


def floor_p50_ms(
    keyring: Keyring,
    provider: WidevineProvider,
    route: str,
    token_text: str,
    body: bytes,
    terms: Terms,
    calls: int,
    ticket: str | None = None,
) -> float:
    """The unavoidable part, written plainly: open the token, check a renewal's ticket, build the back-end request."""
    drm = ROUTES[route][1]
    floor: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        claims = open_token(keyring, token_text, drm)
        if ticket is not None:
            stream_of(keyring, claims["tokenId"], ticket)
        if route == "wv":
            signed_message(provider, inner_request(provider, claims, body, terms))
        elif route == "fp":
            json.dumps(ksm_request(claims, body, terms))
        else:
            json.dumps({"keys": [{"kty": "oct", "kid": claims["kid"], "k": claims["contentKey"]}]})
        floor.append(time.perf_counter() - started)
    return statistics.median(floor) * 1000


# case -> (token arguments, what DynamoDB answers in order, the back end refuses, expected status)
LIMITED = {"viewer": "0" * 32, "maxStreams": 3, "renewalInterval": 60}  # a token with a stream limit
CASES: dict[str, tuple[dict[str, Any], list[tuple[str, Any]], bool, int]] = {
    "success": ({}, [("put_item", {})], False, 200),
    "success with maxUses": (
        {"maxUses": 3},
        [("update_item", {}), ("update_item", {}), ("put_item", {})],  # reserve, settle, record
        False,
        200,
    ),
    "bad token": ({"tampered": True}, [], False, 401),
    "expired": ({"expires_in": -10}, [("put_item", {})], False, 401),
    "used up": ({"maxUses": 1}, [("update_item", "used up"), ("put_item", {})], False, 403),
    "back end refused": (
        {"maxUses": 3},
        [("update_item", {}), ("update_item", {}), ("put_item", {})],  # reserve, give back, record
        True,
        400,
    ),
    # Widevine only: a service-certificate request (08 04) of a maxUses token takes no use.
    "certificate request": ({"maxUses": 1, "body": b"\x08\x04"}, [("put_item", {})], False, 200),
    # A renewal spends no use: the record is its one call. One with another token's ticket asks nobody.
    "renewal of a maxUses token": ({"maxUses": 1, "renews": "own"}, [("put_item", {})], False, 200),
    "forged renewal": ({"maxUses": 1, "renews": "another token's"}, [("put_item", {})], False, 403),
    # A stream limit: the viewer's slots read and written whole, then (Widevine) the device kept on its slot.
    "success with maxStreams": (
        LIMITED,
        [
            ("get_item", {}),
            ("put_item", {}),
            ("update_item", "wv only"),
            ("put_item", {}),
        ],  # read, open, device, record
        False,
        200,
    ),
    # Its renewal: one conditional UpdateItem keeps the slot, and the record.
    "renewal with maxStreams": ({**LIMITED, "renews": "own"}, [("update_item", {}), ("put_item", {})], False, 200),
}
NOT_CLAIMS = ("tampered", "expires_in", "body", "renews")  # case arguments that are not token claims


def calls_per_redemption() -> dict[str, dict[str, int]]:
    """DynamoDB and back-end calls of one redemption, per route and case."""
    keyring, handlers, back_ends = prepare()
    counted: dict[str, dict[str, int]] = {}
    for route, (_, drm, _, _) in ROUTES.items():
        for case, (arguments, answers, refuse, status) in CASES.items():
            if (refuse and route == "ck") or ("body" in arguments and route != "wv"):
                continue  # Clear Key has no back end to refuse; only Widevine has certificate requests
            extra = {k: v for k, v in arguments.items() if k not in NOT_CLAIMS}
            ticket = None
            if "renews" in arguments:
                token_text, ticket = renewing(keyring, drm, **extra)
                if arguments["renews"] != "own":
                    ticket = renewing(keyring, drm, **extra)[1]
            else:
                token_text = token(keyring, drm, arguments.get("expires_in", 3600), **extra)
            if arguments.get("tampered"):
                token_text = token_text[:-4] + ("AAAA" if token_text[-4:] != "AAAA" else "BBBB")
            back_ends.refuse, back_ends.calls = refuse, 0
            the_event = event(route, token_text, ticket)
            if "body" in arguments:
                the_event.update(body=base64.b64encode(arguments["body"]).decode(), isBase64Encoded=True)
            answered = [(op, {} if answer == "wv only" else answer) for op, answer in answers]
            if route != "wv":  # only Widevine's license service says something of the device
                answered = [entry for entry, (_, answer) in zip(answered, answers, strict=True) if answer != "wv only"]
            with dynamodb_answers(answered) as dynamodb_calls, quiet_stdout():
                response = handlers[route](the_event, LocalContext("bench"))
            if response["statusCode"] != status:
                raise RuntimeError(
                    f"{route} {case}: expected {status}, got {response['statusCode']}: {response['body']}"
                )
            writes = sum(1 for name in dynamodb_calls if name in ("PutItem", "UpdateItem"))  # each item under 1 KB
            counted[f"{route} {case}"] = {
                "dynamodb": len(dynamodb_calls),
                "back end": back_ends.calls,
                "writes": writes,
            }
    return counted
