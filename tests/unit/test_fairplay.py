"""FairPlay through the customer's KSM (docs/rights-api.md §4), against the stand-in KSM; and /hms/fp/cert."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from drmtoken_cli.devserver.ksm_standin import KsmStandIn, fake_ckc
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, ROOT, WV_PATH, invoke
from tests.support.requests import CONTENT_KEY, IV, fairplay, widevine

FP_RIGHTS = "/hms/fp/rights/"
SPC = b"an SPC from a FairPlay player"


def token_of(authenticator: str, path: str = FP_PATH, **changes: Any) -> str:
    build = fairplay if path == FP_PATH else widevine
    response = invoke(rest_event("GET", path, build(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"]).split("ExpressPlayToken=", 1)[1]


def redeem(
    token: str, body: bytes, content_type: str = "application/octet-stream", path: str = FP_RIGHTS
) -> dict[str, Any]:
    event = rest_event("POST", f"{path}?ExpressPlayToken={token}", headers={"Content-Type": content_type})
    event.update(body=base64.b64encode(body).decode() if body else None, isBase64Encoded=bool(body))
    return invoke(event)


def answer_bytes(response: dict[str, Any]) -> bytes:
    body = response["body"]
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def refusal(response: dict[str, Any]) -> tuple[int, int, str]:
    body = json.loads(response["body"])
    return response["statusCode"], body["errorCode"], body["errorMessage"]


def test_the_ksm_gets_the_tokens_key_and_the_ckc_comes_back_raw(authenticator: str, ksm: KsmStandIn) -> None:
    token = token_of(authenticator, kid="^kid1", rentalDuration="600", cookie="c9", fpExtension="abcd,AQID")
    ksm.expect = {"contentKey": CONTENT_KEY, "iv": IV, "kid": "80ea8bc8a58f990ad1f76bc665b30bfa"}
    response = redeem(token, SPC)
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "application/octet-stream"
    assert answer_bytes(response) == fake_ckc(SPC, CONTENT_KEY, IV)
    (seen,) = ksm.seen
    assert base64.b64decode(seen["spc"]) == SPC
    assert (seen["rentalDuration"], seen["cookie"], seen["customerId"]) == (600, "c9", "acme")
    assert seen["extensions"] == [{"type": "abcd", "payload": "AQID"}] and len(seen["tokenId"]) == 32


def test_the_ckc_leaves_in_the_shape_the_spc_came_in(authenticator: str, ksm: KsmStandIn) -> None:
    ckc = base64.b64encode(fake_ckc(SPC, CONTENT_KEY, IV)).decode()
    form = redeem(
        token_of(authenticator),
        urlencode({"spc": base64.b64encode(SPC).decode()}).encode(),
        "application/x-www-form-urlencoded",
    )
    assert form["headers"]["Content-Type"] == "text/xml" and answer_bytes(form) == f"<ckc>{ckc}</ckc>".encode()
    as_json = redeem(
        token_of(authenticator), json.dumps({"spc": base64.b64encode(SPC).decode()}).encode(), "application/json"
    )
    assert as_json["headers"]["Content-Type"] == "application/json" and json.loads(answer_bytes(as_json)) == {
        "ckc": ckc
    }


@pytest.mark.parametrize(
    ("spc", "content_type", "status", "code", "words"),
    [
        (b"ERROR:unknown asset", "application/octet-stream", 400, -6004, "Failed to generate CKC: the KSM refused"),
        (b"GARBAGE", "application/octet-stream", 400, -6004, "not JSON"),
        (b"HTTP:500", "application/octet-stream", 503, -2030, "temporarily unavailable"),
        (b"spc=%%%", "application/x-www-form-urlencoded", 400, -6004, "not readable"),
        (b"{}", "application/json", 400, -6004, "not readable"),
    ],
)
def test_ksm_failures_map_to_the_contract_and_give_the_use_back(
    authenticator: str, ksm: KsmStandIn, spc: bytes, content_type: str, status: int, code: int, words: str
) -> None:
    token = token_of(authenticator, maxUses="1")
    got = refusal(redeem(token, spc, content_type))
    assert got[:2] == (status, code) and words in got[2]
    assert redeem(token, SPC)["statusCode"] == 200  # the one use was not taken by the failure


def test_a_ksm_that_answers_too_late_is_503(authenticator: str, ksm: KsmStandIn) -> None:
    started = time.monotonic()
    assert refusal(redeem(token_of(authenticator), b"SLOW"))[:2] == (503, -2030)
    assert time.monotonic() - started < 7


def test_a_ksm_that_disagrees_with_the_token_is_refused(authenticator: str, ksm: KsmStandIn) -> None:
    ksm.expect = {"contentKey": "ff" * 16}
    assert refusal(redeem(token_of(authenticator), SPC))[:2] == (400, -6004)


def test_no_ksm_is_6006_before_any_use_is_taken(authenticator: str, service_env: dict[str, str]) -> None:
    token = token_of(authenticator, maxUses="1")
    assert refusal(redeem(token, SPC))[:2] == (403, -6006)
    assert refusal(redeem(token, SPC))[:2] == (403, -6006)  # not "use limit reached": nothing was taken


def test_tokens_of_another_drm_and_empty_bodies_never_reach_the_ksm(authenticator: str, ksm: KsmStandIn) -> None:
    assert refusal(redeem(token_of(authenticator, WV_PATH), SPC))[:3] == (401, -4010, "Invalid token: not a fp token")
    assert refusal(redeem(token_of(authenticator), b""))[:2] == (400, -6004)
    assert ksm.seen == []


def test_the_application_certificate(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    certificate = b"\x30\x82\x01\x0a DER bytes"
    cert_event = rest_event("GET", "/hms/fp/cert")
    assert refusal(invoke(cert_event))[:2] == (404, -1000)
    monkeypatch.setenv("FAIRPLAY_CERTIFICATE", base64.b64encode(certificate).decode())
    from drmtoken import runtime

    runtime.reset()
    response = invoke(rest_event("GET", "/hms/fp/cert"))
    assert response["statusCode"] == 200 and base64.b64decode(response["body"]) == certificate
    assert response["headers"]["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("ksm", "is_function", "is_arn"),
    [
        ("my-ksm", True, False),
        ("arn:aws:lambda:eu-west-1:123456789012:function:ksm", True, True),
        ("https://ksm.example/ckc", False, False),
        ("", False, False),
    ],
)
def test_the_ksm_parameter_grants_invoke_only_for_a_function(ksm: str, is_function: bool, is_arn: bool) -> None:
    from drmtoken_cli.devserver.template import Template

    template = Template(ROOT / "template.yaml", {"FairPlayKsm": ksm})
    assert template.condition("KsmIsFunction") is is_function
    assert template.condition("KsmIsArn") is is_arn
