"""Rights and renewals (docs/rights-api.md, "Rights and renewals"), through the handlers on moto.

Widevine licenses are read back with Google's protobuf library out of what the stand-in
license service answered; CKCs out of the stand-in KSM's; Clear Key answers as JSON. The
token's rights decide what each DRM is told; a renewal is known from the request itself,
spends no use, outlives the token's expiry and never a rental's end.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import time_machine

from drmtoken.core.rights import GRACE_SECONDS, RENEWAL_RETRY_SECONDS
from drmtoken_cli.devserver.ksm_standin import KsmStandIn, ckc_duration
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import fairplay, widevine
from tests.support.widevine_proto import (
    OFFLINE,
    RELEASE,
    STREAMING,
    forged_renewal,
    new_challenge,
    read_license,
    renewal_challenge,
)

KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1
RIGHTS = {"wv": "/hms/wv/rights/", "fp": "/hms/fp/rights/", "ck": "/hms/ck/rights/"}
SPC = b"an SPC from a FairPlay player"


@pytest.fixture
def clearkey_on(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")


def token_of(authenticator: str, drm: str = "wv", **changes: Any) -> str:
    build, path = (fairplay, FP_PATH) if drm == "fp" else (widevine, WV_PATH)
    response = invoke(rest_event("GET", path, build(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"]).split("ExpressPlayToken=", 1)[1]


def redeem(token: str, body: bytes, drm: str = "wv", **headers: str) -> dict[str, Any]:
    content_type = "application/json" if drm == "ck" else "application/octet-stream"
    event = rest_event(
        "POST", f"{RIGHTS[drm]}?ExpressPlayToken={token}", headers={"Content-Type": content_type, **headers}
    )
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    return invoke(event)


def answer(response: dict[str, Any]) -> bytes:
    assert response["statusCode"] == 200, response["body"]
    body = response["body"]
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def refusal(response: dict[str, Any]) -> tuple[int, int]:
    return response["statusCode"], json.loads(response["body"])["errorCode"]


def records(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName="drm-token-records")["Items"]
    return sorted((i for i in items if not i["pk"]["S"].startswith("uses#")), key=lambda i: i["time"]["N"])


def uses_items(dynamodb: Any) -> list[dict[str, Any]]:
    return [i for i in dynamodb.scan(TableName="drm-token-records")["Items"] if i["pk"]["S"].startswith("uses#")]


def clearkey_body(session_type: str = "temporary") -> bytes:
    kid = base64.urlsafe_b64encode(bytes.fromhex(KID1)).rstrip(b"=").decode()
    return json.dumps({"kids": [kid], "type": session_type}).encode()


# --- Widevine: the policy, read back out of the license ---------------------------------------


def test_a_renewing_rental_tells_widevine_everything_and_its_license_says_it(
    authenticator: str, stand_in: WidevineStandIn
) -> None:
    with time_machine.travel(time.time(), tick=False):
        token = token_of(
            authenticator,
            rightsType="Rental",
            **{"rental.periodEndTime": "+7200", "rental.playDuration": "5400"},
            renewalInterval="300",
        )
        response = redeem(token, new_challenge())
    license_ = read_license(answer(response))
    policy = license_.policy
    assert (policy.can_play, policy.can_persist, policy.can_renew) == (True, True, True)
    assert policy.renewal_delay_seconds == 300
    assert policy.license_duration_seconds == 300 + GRACE_SECONDS
    assert policy.renewal_recovery_duration_seconds == GRACE_SECONDS
    assert policy.renewal_retry_interval_seconds == RENEWAL_RETRY_SECONDS
    assert policy.rental_duration_seconds == 7200 and policy.playback_duration_seconds == 5400
    assert license_.id.type == OFFLINE
    ticket = response["headers"]["Drm-Stream-Id"]
    assert license_.id.provider_session_token == ticket.encode()  # what each renewal brings back
    assert response["headers"]["Drm-Renewal-Interval"] == "300"
    assert "Drm-Stream-Id" in response["headers"]["Access-Control-Expose-Headers"]
    assert [key.id.hex() for key in license_.key] == [KID1]


def test_buy_to_own_persists_and_a_plain_token_streams_as_before(authenticator: str, stand_in: WidevineStandIn) -> None:
    owned = read_license(answer(redeem(token_of(authenticator, rightsType="BuyToOwn"), new_challenge())))
    assert owned.policy.can_persist and not owned.policy.can_renew and owned.id.type == OFFLINE
    assert not owned.policy.HasField("license_duration_seconds")  # kept for good
    streamed = read_license(answer(redeem(token_of(authenticator, licenseDuration="3600"), new_challenge())))
    assert not streamed.policy.can_persist and not streamed.policy.can_renew and streamed.id.type == STREAMING
    assert streamed.policy.playback_duration_seconds == 3600
    assert stand_in.seen[-1]["policy_overrides"] == {"can_play": True, "playback_duration_seconds": 3600}


def test_renewals_of_a_one_use_token_spend_nothing_and_a_second_first_license_is_refused(
    authenticator: str, stand_in: WidevineStandIn, dynamodb: Any
) -> None:
    token = token_of(authenticator, maxUses="1", renewalInterval="60")
    held = answer(redeem(token, new_challenge()))
    first = read_license(held)
    for version in (1, 2, 3):
        held = answer(redeem(token, renewal_challenge(held)))
        renewed = read_license(held)
        assert renewed.id.version == version and renewed.id.request_id == first.id.request_id
        assert renewed.policy.can_renew and renewed.policy.renewal_delay_seconds == 60
    assert refusal(redeem(token, new_challenge(b"another device"))) == (403, -4010)
    renewals = [seen for seen in stand_in.seen if "session_init" not in seen]
    assert len(renewals) == 3 and all("content_key_specs" not in seen for seen in renewals)  # keys only once
    kinds = [(r["kind"]["S"], r["code"]["N"]) for r in records(dynamodb)]
    assert kinds == [("license", "0"), ("renewal", "0"), ("renewal", "0"), ("renewal", "0"), ("license", "-4010")]
    stream_ids = {r["streamId"]["S"] for r in records(dynamodb)[:4]}
    assert len(stream_ids) == 1 and len(stream_ids.pop()) == 16


def test_a_renewal_is_honoured_after_the_tokens_expiry_and_ends_with_the_licenses_life(
    authenticator: str, stand_in: WidevineStandIn
) -> None:
    start = time.time()
    with time_machine.travel(start, tick=False):
        token = token_of(authenticator, expirationTime="+60", renewalInterval="600", licenseDuration="3600")
        held = answer(redeem(token, new_challenge()))
    with time_machine.travel(start + 1800, tick=False):  # the token expired 29 minutes ago
        assert refusal(redeem(token, new_challenge(b"a new device"))) == (401, -4010)
        renewed = read_license(answer(redeem(token, renewal_challenge(held))))
        assert renewed.policy.license_duration_seconds == 600 + GRACE_SECONDS
    with time_machine.travel(start + 3600, tick=False):  # licenseDuration since the first license: over
        assert refusal(redeem(token, renewal_challenge(held))) == (403, -4031)


def test_nothing_is_renewed_or_first_given_past_a_rentals_end(authenticator: str, stand_in: WidevineStandIn) -> None:
    start = time.time()
    with time_machine.travel(start, tick=False):
        token = token_of(authenticator, rightsType="Rental", **{"rental.periodEndTime": "+900"}, renewalInterval="600")
        held = answer(redeem(token, new_challenge()))
    with time_machine.travel(start + 600, tick=False):  # the last renewal: the license ends at the period's end
        held = answer(redeem(token, renewal_challenge(held)))
        assert read_license(held).policy.license_duration_seconds == 300
    with time_machine.travel(start + 901, tick=False):  # past the end, rounded up to a whole second
        assert refusal(redeem(token, renewal_challenge(held))) == (403, -4031)
        assert refusal(redeem(token, new_challenge())) == (403, -4031)


def test_a_renewal_of_a_license_this_token_never_gave_is_refused_before_any_write(
    authenticator: str, stand_in: WidevineStandIn, dynamodb: Any, dynamodb_calls: list[str]
) -> None:
    other = token_of(authenticator, renewalInterval="60")
    others_license = answer(redeem(other, new_challenge()))
    token = token_of(authenticator, renewalInterval="60", maxUses="2")
    answer(redeem(token, new_challenge()))
    ticket = read_license(others_license).id.provider_session_token
    forged = [
        renewal_challenge(others_license),  # another token's license, as its CDM would send it
        forged_renewal(ticket[:-10] + (b"B" if ticket[-10:-9] == b"A" else b"A") + ticket[-9:]),  # its tag altered
        forged_renewal(b"1.k1." + b"A" * 38),  # made up
        forged_renewal(b"x" * 500),  # too long to be one
        forged_renewal(b""),  # names nothing
    ]
    seen, uses = len(stand_in.seen), uses_items(dynamodb)
    dynamodb_calls.clear()
    for challenge in forged:
        assert refusal(redeem(token, challenge)) == (403, -4030)
    assert set(dynamodb_calls) <= {"PutItem"} and len(dynamodb_calls) == len(forged)  # the records only
    assert len(stand_in.seen) == seen and uses_items(dynamodb) == uses  # nothing asked, no use moved
    assert {r["kind"]["S"] for r in records(dynamodb)[-len(forged) :]} == {"renewal"}


def test_a_token_whose_licenses_do_not_renew_has_no_renewals(authenticator: str, stand_in: WidevineStandIn) -> None:
    token = token_of(authenticator)
    held = answer(redeem(token, new_challenge()))
    assert refusal(redeem(token, renewal_challenge(held))) == (403, -4030)


def test_a_release_ends_the_license_and_the_license_service_refuses_its_renewal(
    authenticator: str, stand_in: WidevineStandIn, dynamodb: Any
) -> None:
    token = token_of(authenticator, renewalInterval="60", maxUses="1")
    held = answer(redeem(token, new_challenge()))
    released = read_license(answer(redeem(token, renewal_challenge(held, RELEASE))))
    assert released.id.version == 1 and not released.policy.can_play
    assert "policy_overrides" not in stand_in.seen[-1] and "content_key_specs" not in stand_in.seen[-1]
    assert refusal(redeem(token, renewal_challenge(held))) == (400, -7008)  # INVALID_RENEWAL_REQUEST
    assert [r["kind"]["S"] for r in records(dynamodb)] == ["license", "release", "renewal"]


def test_the_stand_in_refuses_a_renewal_naming_a_license_it_did_not_give(
    authenticator: str, stand_in: WidevineStandIn
) -> None:
    token = token_of(authenticator, renewalInterval="60")
    held = answer(redeem(token, new_challenge()))
    ticket = read_license(held).id.provider_session_token  # the service's own ticket, but not that license's id
    response = redeem(token, forged_renewal(ticket))
    assert refusal(response) == (400, -7008) and "INVALID_RENEWAL_REQUEST" in response["body"]


# --- FairPlay: the key duration, read back out of the CKC ---------------------------------------


@pytest.mark.parametrize(
    ("rights", "expected"),
    [
        ({}, {}),
        ({"rightsType": "BuyToOwn"}, {"keyType": "persist-unlimited"}),
        (
            {"rightsType": "Rental", "rental.periodEndTime": "+86400", "rental.playDuration": "10800"},
            {"keyType": "persist-limited", "rentalSeconds": 86400, "playbackSeconds": 10800},
        ),
        ({"renewalInterval": "120"}, {"keyType": "lease", "leaseSeconds": 120 + GRACE_SECONDS}),
        (
            {"rightsType": "Rental", "rental.periodEndTime": "+86400", "renewalInterval": "120"},
            {"keyType": "lease-and-rental", "leaseSeconds": 120 + GRACE_SECONDS, "rentalSeconds": 86400},
        ),
    ],
)
def test_the_ksm_is_told_the_key_duration_and_the_ckc_carries_it(
    authenticator: str, ksm: KsmStandIn, rights: dict[str, str], expected: dict[str, Any]
) -> None:
    with time_machine.travel(time.time(), tick=False):
        ckc = answer(redeem(token_of(authenticator, "fp", **rights), SPC, "fp"))
    assert ckc_duration(ckc) == expected
    assert {k: ksm.seen[-1][k] for k in expected} == expected
    if not expected:
        assert "keyType" not in ksm.seen[-1]  # a plain streaming request is unchanged


def test_a_fairplay_renewal_brings_back_its_stream_and_spends_no_use(authenticator: str, ksm: KsmStandIn) -> None:
    token = token_of(authenticator, "fp", renewalInterval="60", maxUses="1")
    first = redeem(token, SPC, "fp")
    answer(first)
    ticket = first["headers"]["Drm-Stream-Id"]
    for _ in range(3):
        renewed = redeem(token, SPC, "fp", **{"Drm-Renewal-Of": ticket})
        assert ckc_duration(answer(renewed))["keyType"] == "lease"
    assert refusal(redeem(token, SPC, "fp")) == (403, -4010)  # the one use is the first license's
    other = redeem(token_of(authenticator, "fp", renewalInterval="60"), SPC, "fp")
    assert refusal(redeem(token, SPC, "fp", **{"Drm-Renewal-Of": other["headers"]["Drm-Stream-Id"]})) == (403, -4030)
    assert refusal(redeem(token, SPC, "fp", **{"Drm-Renewal-Of": "not a ticket"})) == (403, -4030)


# --- Clear Key: the session's type ------------------------------------------------------------------


@pytest.mark.usefixtures("clearkey_on")
def test_clear_key_answers_a_persistent_session_only_for_a_token_that_grants_one(authenticator: str) -> None:
    owned = json.loads(answer(redeem(token_of(authenticator, rightsType="BuyToOwn"), clearkey_body(PERSISTENT), "ck")))
    assert owned["type"] == PERSISTENT and len(owned["keys"]) == 1
    assert json.loads(answer(redeem(token_of(authenticator), clearkey_body(), "ck")))["type"] == "temporary"
    assert refusal(redeem(token_of(authenticator), clearkey_body(PERSISTENT), "ck")) == (400, -4032)
    assert refusal(redeem(token_of(authenticator), clearkey_body("persistent-usage-record"), "ck")) == (400, -7008)


@pytest.mark.usefixtures("clearkey_on")
def test_a_clear_key_renewal_keeps_a_one_use_token_playing(authenticator: str, dynamodb: Any) -> None:
    token = token_of(authenticator, renewalInterval="60", maxUses="1")
    first = redeem(token, clearkey_body(), "ck")
    answer(first)
    for _ in range(3):
        answer(redeem(token, clearkey_body(), "ck", **{"Drm-Renewal-Of": first["headers"]["Drm-Stream-Id"]}))
    assert refusal(redeem(token, clearkey_body(), "ck")) == (403, -4010)
    assert [r["kind"]["S"] for r in records(dynamodb)] == ["license", "renewal", "renewal", "renewal", "license"]


PERSISTENT = "persistent-license"
