"""Successful token requests: what goes in comes out of the token, by every key source and transport."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest

from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import Pairs, rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import CONTENT_KEY, IV, REMOVE, RFC3394_EK, RFC3394_KEK, RFC3394_KEY, fairplay, widevine

KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # first 16 bytes of SHA-1("kid1")
VOLATILE = ("tokenId", "issuedAt", "expiresAt")


def claims_of(response: dict[str, Any], keyring: Keyring, drm: str) -> dict[str, Any]:
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "text/uri-list"
    base, token = response["body"].split("?ExpressPlayToken=")
    # No license URL configured: the deployment's own rights route, on the host the request came to.
    assert base == f"https://wv-gen.example.com/hms/{drm}/rights/"
    return open_token(keyring, token, drm)


def stable(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in VOLATILE}


def test_widevine_claims_carry_every_parameter(authenticator: str, keyring: Keyring) -> None:
    params = widevine(
        authenticator,
        contentId="movie-42",
        licenseDuration="3600",
        generalFlags="0000",
        cookie="session 7",
        wvExtension=["wudo,AAAAAA==", "abcd,AQID"],
        rightsKind="BuyToOwn",  # unknown names are ignored
    )
    before = int(time.time())
    claims = claims_of(invoke(rest_event("GET", WV_PATH, params)), keyring, "wv")
    assert stable(claims) == {
        "drm": "wv",
        "customerId": "acme",
        "environment": "test",
        "kid": KID1,
        "contentKey": CONTENT_KEY,
        "contentId": "movie-42",
        "securityLevel": 1,
        "hdcpOutputControl": 0,
        "licenseDuration": 3600,
        "generalFlags": "0000",
        "cookie": "session 7",
        "extensions": [{"type": "wudo", "payload": "AAAAAA=="}, {"type": "abcd", "payload": "AQID"}],
    }
    assert before <= claims["issuedAt"] <= time.time()
    # The default is 30 days after sealing, rounded up: never shorter than 30 days.
    assert claims["expiresAt"] - claims["issuedAt"] in (30 * 86400, 30 * 86400 + 1)
    assert len(claims["tokenId"]) == 32


def test_fairplay_claims(authenticator: str, keyring: Keyring) -> None:
    params = fairplay(authenticator, kid="00112233445566778899AABBCCDDEEFF", fpExtension="abcd,AQID")
    claims = claims_of(invoke(rest_event("GET", FP_PATH, params)), keyring, "fp")
    assert stable(claims) == {
        "drm": "fp",
        "customerId": "acme",
        "environment": "test",
        "kid": "00112233445566778899aabbccddeeff",
        "contentKey": CONTENT_KEY,
        "iv": IV,
        "rentalDuration": 0,
        "extensions": [{"type": "abcd", "payload": "AQID"}],
    }


@pytest.mark.parametrize(("path", "build"), [(WV_PATH, widevine), (FP_PATH, fairplay)])
def test_get_post_and_base64_post_give_the_same_claims(
    path: str, build: Any, authenticator: str, keyring: Keyring
) -> None:
    params = build(authenticator, cookie="same", expirationTime="+600")
    drm = path.split("/")[2]
    get = claims_of(invoke(rest_event("GET", path, params)), keyring, drm)
    post = claims_of(invoke(rest_event("POST", path, form=params)), keyring, drm)
    encoded = claims_of(invoke(rest_event("POST", path, form=params, base64_body=True)), keyring, drm)
    assert stable(get) == stable(post) == stable(encoded)
    assert get["tokenId"] != post["tokenId"] != encoded["tokenId"]


def test_query_and_form_body_are_merged(authenticator: str, keyring: Keyring) -> None:
    params = widevine(authenticator)
    query, form = params[:2], params[2:]
    event = rest_event(
        "POST", WV_PATH, query, form=form, content_type="application/x-www-form-urlencoded; charset=UTF-8"
    )
    assert claims_of(invoke(event), keyring, "wv")["kid"] == KID1


def test_body_of_another_content_type_is_ignored(authenticator: str) -> None:
    event = rest_event("POST", WV_PATH, body=urlencode(widevine(authenticator)), content_type="text/plain")
    assert error_of(invoke(event))[1] == -2017


@pytest.mark.parametrize("path", [WV_PATH, FP_PATH])
def test_key_from_kek_and_ek_rfc3394(path: str, authenticator: str, keyring: Keyring) -> None:
    build = widevine if path == WV_PATH else fairplay
    params = build(authenticator, contentKey=REMOVE, kek=RFC3394_KEK.upper(), ek=RFC3394_EK)
    claims = claims_of(invoke(rest_event("GET", path, params)), keyring, path.split("/")[2])
    assert claims["contentKey"] == RFC3394_KEY
    assert "kek" not in claims and "ek" not in claims


@pytest.mark.parametrize(
    ("kek", "ek"),
    [  # RFC 3394 sections 4.2 and 4.3: 192- and 256-bit KEKs wrapping the same 128-bit key
        ("000102030405060708090a0b0c0d0e0f1011121314151617", "96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d"),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7",
        ),
    ],
)
def test_key_from_longer_keks(kek: str, ek: str, authenticator: str, keyring: Keyring) -> None:
    params = widevine(authenticator, contentKey=REMOVE, kek=kek, ek=ek)
    assert claims_of(invoke(rest_event("GET", WV_PATH, params)), keyring, "wv")["contentKey"] == RFC3394_KEY


@pytest.mark.parametrize("path", [WV_PATH, FP_PATH])
def test_key_from_the_key_store(path: str, authenticator: str, keyring: Keyring, store: AdminStore) -> None:
    store.put_key("acme", KID1, bytes.fromhex(RFC3394_EK))
    build = widevine if path == WV_PATH else fairplay
    params = build(authenticator, contentKey=REMOVE, kek=RFC3394_KEK, kid="^kid1")
    claims = claims_of(invoke(rest_event("GET", path, params)), keyring, path.split("/")[2])
    assert claims["contentKey"] == RFC3394_KEY and claims["kid"] == KID1
    assert store.get_customer("acme").issued["test"] == 1


def test_failed_key_store_lookup_counts_no_token(authenticator: str, store: AdminStore) -> None:
    store.put_key("acme", KID1, bytes.fromhex(RFC3394_EK))
    for kek in ("ff" * 16, RFC3394_KEK):
        params = widevine(authenticator, contentKey=REMOVE, kek=kek, kid="^kid1" if kek != RFC3394_KEK else "^other")
        assert error_of(invoke(rest_event("GET", WV_PATH, params)))[1] == -4019
    assert store.get_customer("acme").issued["test"] == 0


@pytest.mark.parametrize("form", [False, True])
def test_plus_decoded_as_space_is_relative_expiration(form: bool, authenticator: str, keyring: Keyring) -> None:
    params = widevine(authenticator, expirationTime=" 120")
    event = rest_event("POST", WV_PATH, form=params) if form else rest_event("GET", WV_PATH, params)
    claims = claims_of(invoke(event), keyring, "wv")
    assert claims["expiresAt"] - claims["issuedAt"] in (119, 120, 121)


def test_absolute_expiration_with_fraction(authenticator: str, keyring: Keyring) -> None:
    target = time.gmtime(time.time() + 3600)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.250Z", target)
    claims = claims_of(invoke(rest_event("GET", WV_PATH, widevine(authenticator, expirationTime=stamp))), keyring, "wv")
    # A fractional instant rounds up: the token never expires earlier than asked.
    assert claims["expiresAt"] == int(time.mktime(target) - time.timezone) + 1


def test_empty_optional_values_count_as_not_given(authenticator: str, keyring: Keyring) -> None:
    params = widevine(authenticator, cookie="", contentId="", licenseDuration="", errorFormat="")
    claims = claims_of(invoke(rest_event("GET", WV_PATH, params)), keyring, "wv")
    assert "cookie" not in claims and "contentId" not in claims and "licenseDuration" not in claims


def test_tokens_are_counted_per_environment(authenticator: str, store: AdminStore) -> None:
    store.set_limit("acme", "test", 2)
    codes = [invoke(rest_event("GET", WV_PATH, widevine(authenticator)))["statusCode"] for _ in range(3)]
    assert codes == [200, 200, 403]
    customer = store.get_customer("acme")
    assert customer.issued == {"test": 2, "prod": 0}


def pairs_for(kind: str, authenticator: str) -> Pairs:
    return {
        "success": widevine(authenticator),
        "validation failure": widevine(authenticator, securityLevel="9"),
        "authentication failure": widevine("acme," + "0" * 32),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("success", ["TransactWriteItems"]),
        ("validation failure", []),
        ("authentication failure", ["TransactWriteItems"]),
    ],
)
def test_dynamodb_calls_per_request(
    kind: str, expected: list[str], authenticator: str, dynamodb_calls: list[str]
) -> None:
    """A warm function: one call. A new instance first reads the customer's shard count, once a minute."""
    invoke(rest_event("GET", WV_PATH, pairs_for(kind, authenticator)))
    assert dynamodb_calls == (["GetItem", *expected] if expected else [])
    dynamodb_calls.clear()
    invoke(rest_event("GET", WV_PATH, pairs_for(kind, authenticator)))
    assert dynamodb_calls == expected


def test_allowance_used_up_is_one_call(authenticator: str, store: AdminStore, dynamodb_calls: list[str]) -> None:
    store.set_limit("acme", "test", 0)
    invoke(rest_event("GET", FP_PATH, fairplay(authenticator)))  # the instance reads the shard count
    dynamodb_calls.clear()
    assert error_of(invoke(rest_event("GET", FP_PATH, fairplay(authenticator))))[1] == -2019
    assert dynamodb_calls == ["TransactWriteItems"]


@pytest.mark.parametrize("path", [WV_PATH, FP_PATH])
def test_max_uses_is_a_claim_of_the_token(path: str, authenticator: str, keyring: Keyring) -> None:
    build = widevine if path == WV_PATH else fairplay
    limited = claims_of(invoke(rest_event("GET", path, build(authenticator, maxUses="0003"))), keyring, path[5:7])
    assert limited["maxUses"] == 3
    unlimited = claims_of(invoke(rest_event("GET", path, build(authenticator))), keyring, path[5:7])
    assert "maxUses" not in unlimited


def test_token_answers_lead_to_the_deployments_own_rights_route(
    authenticator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drmtoken import runtime

    event = rest_event("GET", WV_PATH, widevine(authenticator))
    event["requestContext"].update(domainName="abc123.execute-api.eu-west-1.amazonaws.com", path="/v1/hms/wv/token")
    assert invoke(event)["body"].startswith("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/hms/wv/rights/?")
    event["requestContext"].update(domainName="wv-gen.example.org", path="/hms/wv/token")  # a custom domain
    assert invoke(event)["body"].startswith("https://wv-gen.example.org/hms/wv/rights/?")
    monkeypatch.setenv("WIDEVINE_LICENSE_URL", "https://wv.example.com/hms/wv/rights/")
    runtime.reset()
    assert invoke(event)["body"].startswith("https://wv.example.com/hms/wv/rights/?ExpressPlayToken=")
