"""The Widevine license proxy (docs/rights-api.md §3) against the local stand-in of the license service."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from drmtoken.core.license import LICENSE, Terms
from drmtoken.core.rights import STREAMING, Rights
from drmtoken.core.widevine import WidevineProvider, inner_request, signed_message
from drmtoken_cli.devserver.widevine_standin import TEST_IV, TEST_KEY, TEST_PROVIDER, WidevineStandIn, signature_matches
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import CONTENT_KEY, fairplay, widevine
from tests.support.widevine_proto import read_license

WV_RIGHTS = "/hms/wv/rights/"
KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1
CHALLENGE = b"\x08\x01\x12\x10 a license request from a CDM"


def token_of(authenticator: str, path: str = WV_PATH, **changes: Any) -> str:
    build = widevine if path == WV_PATH else fairplay
    response = invoke(rest_event("GET", path, build(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"]).split("ExpressPlayToken=", 1)[1]


def redeem(token: str, challenge: bytes) -> dict[str, Any]:
    event = rest_event(
        "POST", f"{WV_RIGHTS}?ExpressPlayToken={token}", headers={"Content-Type": "application/octet-stream"}
    )
    event.update(body=base64.b64encode(challenge).decode() if challenge else None, isBase64Encoded=bool(challenge))
    return invoke(event)


def refusal(response: dict[str, Any]) -> tuple[int, int, str]:
    body = json.loads(response["body"])
    return response["statusCode"], body["errorCode"], body["errorMessage"]


def records(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName="drm-token-records")["Items"]
    return sorted((i for i in items if not i["pk"]["S"].startswith("uses#")), key=lambda i: i["sk"]["S"])


def test_the_license_comes_from_a_correctly_signed_request_with_the_tokens_key(
    authenticator: str, stand_in: WidevineStandIn, dynamodb: Any
) -> None:
    token = token_of(
        authenticator, securityLevel="3", hdcpOutputControl="2", contentId="movie-42", licenseDuration="3600"
    )
    response = redeem(token, CHALLENGE)
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "application/octet-stream" and response["isBase64Encoded"]
    license_ = read_license(base64.b64decode(response["body"]))  # read by Google's protobuf
    assert [(key.id.hex(), key.level) for key in license_.key] == [(KID1, 3)]
    assert license_.policy.can_play and license_.policy.playback_duration_seconds == 3600
    (seen,) = stand_in.seen
    assert base64.b64decode(seen["payload"]) == CHALLENGE
    assert seen["content_key_specs"] == [
        {
            "key_id": base64.b64encode(bytes.fromhex(KID1)).decode(),
            "key": base64.b64encode(bytes.fromhex(CONTENT_KEY)).decode(),
            "security_level": 3,
            "required_output_protection": {"hdcp": "HDCP_V2"},
        }
    ]
    assert base64.b64decode(seen["content_id"]) == b"movie-42"
    assert seen["policy_overrides"] == {"can_play": True, "playback_duration_seconds": 3600}
    assert seen["use_policy_overrides_exclusively"] is True
    (record,) = records(dynamodb)
    text = json.dumps(record)
    assert (
        record["kind"]["S"] == "license" and record["serviceStatus"]["S"] == "OK" and record["make"]["S"] == "StandIn"
    )
    assert "session_state" not in text and "c2VjcmV0" not in text and CONTENT_KEY not in text  # never the signing key


def test_a_service_certificate_request_is_proxied_and_takes_no_use(
    authenticator: str, stand_in: WidevineStandIn, dynamodb: Any
) -> None:
    token = token_of(authenticator, maxUses="1")
    certificate = redeem(token, b"\x08\x04")
    assert certificate["statusCode"] == 200 and base64.b64decode(certificate["body"]) == b"stand-in service certificate"
    assert "content_key_specs" not in stand_in.seen[0] and "policy_overrides" not in stand_in.seen[0]
    assert redeem(token, CHALLENGE)["statusCode"] == 200  # the one use is still there
    assert refusal(redeem(token, CHALLENGE))[:2] == (403, -4010)
    assert [r["kind"]["S"] for r in records(dynamodb)] == ["certificate", "license", "license"]


@pytest.mark.parametrize(
    ("challenge", "status", "code"),
    [
        (b"STATUS:DRM_DEVICE_CERTIFICATE_REVOKED", 403, -4001),
        (b"STATUS:PLATFORM_VERIFICATION_FAILED", 403, -4001),
        (b"STATUS:INVALID_LICENSE_CHALLENGE", 400, -7008),
        (b"STATUS:INTERNAL_ERROR", 503, -2030),
        (b"HTTP:500", 503, -2030),
        (b"HTTP:503", 503, -2030),
    ],
)
def test_the_service_answers_map_to_the_contract(
    authenticator: str, stand_in: WidevineStandIn, challenge: bytes, status: int, code: int
) -> None:
    token = token_of(authenticator, maxUses="1")
    got = refusal(redeem(token, challenge))
    assert got[:2] == (status, code)
    if code in (-4001, -7008):
        assert challenge.decode().split(":", 1)[1] in got[2]  # the service's status, named
    assert redeem(token, CHALLENGE)["statusCode"] == 200  # no license came: the use was given back


def test_a_service_that_does_not_answer_in_time_is_503(authenticator: str, stand_in: WidevineStandIn) -> None:
    token = token_of(authenticator)
    started = time.monotonic()
    assert refusal(redeem(token, b"SLOW"))[:2] == (503, -2030)
    assert time.monotonic() - started < 7  # the read timeout, not the service, decided


def test_an_unreachable_service_is_503(authenticator: str, stand_in: WidevineStandIn) -> None:
    token = token_of(authenticator)
    stand_in.stop()
    assert refusal(redeem(token, CHALLENGE))[:2] == (503, -2030)


def test_no_provider_means_no_widevine_route(authenticator: str, service_env: dict[str, str]) -> None:
    assert refusal(redeem(token_of(authenticator), CHALLENGE))[:2] == (404, -1000)


def test_refusals_before_the_back_end_never_reach_it(authenticator: str, stand_in: WidevineStandIn) -> None:
    assert refusal(redeem(token_of(authenticator, FP_PATH), CHALLENGE))[:3] == (
        401,
        -4010,
        "Invalid token: not a wv token",
    )
    assert refusal(redeem(token_of(authenticator), b""))[:2] == (400, -7008)
    assert stand_in.seen == []


def test_the_signature_is_aes_cbc_of_the_sha1_of_exactly_the_signed_bytes() -> None:
    provider = WidevineProvider(TEST_PROVIDER, TEST_KEY, TEST_IV, "https://example.invalid/")
    claims = {"kid": KID1, "contentKey": CONTENT_KEY, "securityLevel": 1, "hdcpOutputControl": 0}
    inner = inner_request(provider, claims, CHALLENGE, Terms(LICENSE, Rights(STREAMING), 0))
    outer = json.loads(signed_message(provider, inner))
    assert base64.b64decode(outer["request"]) == inner and outer["signer"] == TEST_PROVIDER
    assert signature_matches(inner, base64.b64decode(outer["signature"]))
    assert not signature_matches(inner + b" ", base64.b64decode(outer["signature"]))


@pytest.mark.parametrize(
    "text",
    [
        '{"provider": "p"}',
        '{"provider": "p", "signingKey": "00", "signingIv": "00"}',
        "not json",
        '{"provider": "p", "signingKey": "'
        + "00" * 32
        + '", "signingIv": "'
        + "00" * 16
        + '", "licenseServiceUrl": "http://evil"}',
    ],
)
def test_bad_provider_credentials_are_refused_without_quoting_them(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        WidevineProvider.from_json(text)
    assert "00" * 16 not in str(refused.value)
