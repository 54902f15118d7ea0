"""Every file in events/ (the same files `sam local invoke -e` takes) runs through its handler."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.demo import DEMO_CUSTOMER, DEMO_SECRET
from tests.support.lambdas import error_of, invoke
from tests.support.requests import RFC3394_KEY

EVENTS = Path(__file__).resolve().parents[2] / "events"
WIDEVINE_TEST_PROVIDER = json.dumps(
    {
        "provider": "widevine_test",
        "signingKey": "00" * 32,
        "signingIv": "00" * 16,
        "licenseServiceUrl": "http://127.0.0.1:9/",
    }
)

# file -> expected claims (success) or (status, code, content type)
EXPECTED: dict[str, dict[str, object] | tuple[int, int, str]] = {
    "wv-get": {"drm": "wv", "contentId": "movie-42", "licenseDuration": 3600, "cookie": "session-1"},
    "wv-post-form": {
        "drm": "wv",
        "extensions": [{"type": "wudo", "payload": "AAAAAA=="}, {"type": "abcd", "payload": "AQID"}],
    },
    "wv-post-form-base64": {"drm": "wv", "securityLevel": 3, "hdcpOutputControl": 2},
    "wv-get-kek-ek": {"drm": "wv", "contentKey": RFC3394_KEY},
    "fp-get": {"drm": "fp", "kid": "80ea8bc8a58f990ad1f76bc665b30bfa", "rentalDuration": 86400},
    "fp-post-form": {"drm": "fp", "cookie": "session-2", "extensions": [{"type": "abcd", "payload": "AQID"}]},
    "fp-post-form-base64": {"drm": "fp", "iv": "0f0e0d0c0b0a09080706050403020100"},
    "wv-error-missing-authenticator": (401, -2017, "text/html; charset=utf-8"),
    "wv-error-method-put": (405, -1001, "application/json"),
    "fp-error-invalid-iv-json": (400, -6003, "application/json"),
    "fp-error-unknown-customer-json": (401, -2018, "application/json"),
    "not-found-get-json": (404, -1000, "application/json"),
    # The rights side, as `sam local invoke --parameter-overrides ClearKeyEnabled=true` runs it.
    "ck-post-invalid-token": (401, -4010, "application/json"),
    "ck-options-preflight": (204, 0, ""),
    "wv-rights-post-invalid-token": (401, -4010, "application/json"),
    "fp-rights-post-invalid-token": (401, -4010, "application/json"),
    "fp-cert-get": (404, -1000, "application/json"),  # no FairPlayCertificate in the template's defaults
    "getrecord-get": (200, 0, "application/json"),
    "getrecord-error-length-json": (400, -1101, "application/json"),
    "streams-get": (200, 0, "application/json"),
    "streams-end-unknown-json": (404, -4035, "application/json"),
    # The key provider, as API Gateway passes a packager's signed request (the body base64).
    "speke-v2-post": (200, 0, "application/xml"),
    "speke-v1-post": (200, 0, "application/xml"),
    "speke-error-playready": (422, 0, "text/plain; charset=utf-8"),
}


def test_every_event_file_has_an_expectation() -> None:
    assert {path.stem for path in EVENTS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_file(name: str, store: AdminStore, keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    monkeypatch.setenv("WIDEVINE_PROVIDER", WIDEVINE_TEST_PROVIDER)  # no call is made: the token does not open
    store.create_customer(DEMO_CUSTOMER, widevine=True, fairplay=True, limits={})
    store.add_authenticator(DEMO_CUSTOMER, "test", secret=DEMO_SECRET)
    response = invoke(json.loads((EVENTS / f"{name}.json").read_text()))
    expected = EXPECTED[name]
    if expected == (204, 0, ""):  # a preflight: no body, the CORS headers
        assert response["statusCode"] == 204 and response["headers"]["Access-Control-Allow-Methods"] == "POST, OPTIONS"
        return
    if name.startswith("speke-"):  # the key provider: the CPIX answer, or a refusal in plain text
        assert (response["statusCode"], 0, response["headers"]["Content-Type"]) == expected
        held = store.client.scan(TableName=os.environ["HELD_KEYS_TABLE"])["Items"]
        if response["statusCode"] == 200:
            assert response["body"].count("<pskc:PlainValue>") == len(held) > 0
        else:
            assert "PlayReady" in response["body"] and held == []
        return
    if name == "streams-get":  # a viewer of the demo customer, with no stream open
        assert response["statusCode"] == 200 and json.loads(response["body"]) == {"streams": []}
        return
    if expected == (200, 0, "application/json"):  # getrecord: a page of the demo customer's records (none yet)
        assert response["statusCode"] == 200 and json.loads(response["body"]) == {"records": [], "next": None}
        return
    if isinstance(expected, tuple):
        assert error_of(response) == expected
        assert store.get_customer(DEMO_CUSTOMER).issued["test"] == 0
        return
    assert response["statusCode"] == 200, response["body"]
    claims = open_token(keyring, response["body"].split("ExpressPlayToken=")[1], str(expected["drm"]))
    assert {k: claims[k] for k in expected} == expected
    assert store.get_customer(DEMO_CUSTOMER).issued["test"] == 1
