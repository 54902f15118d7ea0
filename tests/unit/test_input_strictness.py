"""Values are UTF-8 and digits are ASCII: nothing is repaired into another value, nothing counts for a bad one."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest
import time_machine

from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import REMOVE, fairplay, widevine


def raw_query(pairs: list[tuple[str, str]], raw: str) -> str:
    """The query string of ``pairs`` followed by ``raw``, which is sent exactly as written (bytes as %XX)."""
    return f"{urlencode(pairs)}&{raw}"


@pytest.mark.parametrize(
    ("path", "build", "raw", "code"),
    [
        (WV_PATH, widevine, "kid=%5Ecaf%e9", -4022),
        (WV_PATH, widevine, "kid=%5Ecaf%e8", -4022),
        (WV_PATH, widevine, "contentId=%ff%fe", -1100),
        (WV_PATH, widevine, "cookie=a%c3", -2033),
        (FP_PATH, fairplay, "fpExtension=ab%ffd,AQID", -6001),
    ],
)
def test_bytes_that_are_not_utf8_are_invalid_in_the_query(
    path: str, build: object, raw: str, code: int, authenticator: str, store: AdminStore
) -> None:
    name = raw.split("=", 1)[0]
    pairs = build(authenticator, **{name: REMOVE, "errorFormat": "json"})  # type: ignore[operator]
    response = invoke(rest_event("GET", f"{path}?{raw_query(pairs, raw)}"))
    assert error_of(response)[:2] == (400, code)
    assert store.get_customer("acme").issued["test"] == 0


@pytest.mark.parametrize("base64_body", [False, True])
def test_bytes_that_are_not_utf8_are_invalid_in_a_form_body(
    base64_body: bool, authenticator: str, store: AdminStore
) -> None:
    form = urlencode(widevine(authenticator, kid=REMOVE, errorFormat="json")) + "&kid=%5Ecaf%E9"
    if base64_body:  # the raw byte itself, not percent-encoded, as a binary body arrives
        body = (urlencode(widevine(authenticator, kid=REMOVE, errorFormat="json")) + "&kid=^caf").encode() + b"\xe9"
        event = rest_event("POST", WV_PATH, content_type="application/x-www-form-urlencoded")
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    else:
        event = rest_event("POST", WV_PATH, body=form, content_type="application/x-www-form-urlencoded")
    assert error_of(invoke(event))[:2] == (400, -4022)
    assert store.get_customer("acme").issued["test"] == 0


def test_a_bad_byte_in_the_authenticator_is_2018(authenticator: str) -> None:
    customer, secret = authenticator.split(",")
    query = (
        urlencode(widevine(authenticator, customerAuthenticator=REMOVE))
        + f"&customerAuthenticator={customer}%ff,{secret}"
    )
    assert error_of(invoke(rest_event("GET", f"{WV_PATH}?{query}")))[:2] == (401, -2018)


def test_valid_non_ascii_text_is_still_accepted(authenticator: str, keyring: Keyring) -> None:
    claims_url = invoke(rest_event("GET", WV_PATH, widevine(authenticator, kid="^café", contentId="映画-42")))["body"]
    claims = open_token(keyring, claims_url.split("=", 1)[1], "wv")
    assert claims["contentId"] == "映画-42" and claims["kid"] != "00" * 16


NOW = 1_780_000_000  # the clock of the expiration tests (time-machine): their ids and answers never move
TOMORROW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 86400))
# Digits of other scripts, written as code points so the source stays ASCII: both are "digits" to \d and int().
FULLWIDTH = {ord(str(d)): 0xFF10 + d for d in range(10)}
ARABIC_INDIC = {ord(str(d)): 0x0660 + d for d in range(10)}


@pytest.mark.parametrize(
    "expiration",
    [
        TOMORROW.translate(FULLWIDTH),
        TOMORROW[:-2] + TOMORROW[-2].translate(ARABIC_INDIC) + "Z",
        "+30".translate(ARABIC_INDIC),
        "+1".translate(FULLWIDTH),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_only_ascii_digits_in_expiration_time(expiration: str, authenticator: str) -> None:
    assert invoke(rest_event("GET", FP_PATH, fairplay(authenticator, expirationTime=TOMORROW)))["statusCode"] == 200
    params = fairplay(authenticator, expirationTime=expiration, errorFormat="json")
    assert error_of(invoke(rest_event("GET", FP_PATH, params)))[:2] == (400, -2002)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"hdcpOutputControl": "1000000000000"}, -2034),
        ({"hdcpOutputControl": "9" * 400}, -2034),
        ({"hdcpOutputControl": "-" + "9" * 400}, -2034),
        ({"securityLevel": "99999999999999999999999"}, -7004),
        ({"licenseDuration": "1" + "0" * 30}, -7007),
        ({"hdcpOutputControl": "1".translate(FULLWIDTH)}, -2008),
    ],
)
def test_long_numbers_are_out_of_range_not_malformed(changes: dict[str, str], code: int, authenticator: str) -> None:
    params = widevine(authenticator, errorFormat="json", **changes)
    assert error_of(invoke(rest_event("GET", WV_PATH, params)))[:2] == (400, code)


def test_leading_zeros_are_the_number(authenticator: str, keyring: Keyring) -> None:
    params = widevine(authenticator, hdcpOutputControl="0000000000001", securityLevel="00000000000003")
    claims = open_token(keyring, invoke(rest_event("GET", WV_PATH, params))["body"].split("=", 1)[1], "wv")
    assert (claims["hdcpOutputControl"], claims["securityLevel"]) == (1, 3)


def test_a_parameter_sent_twice_is_told_so(authenticator: str) -> None:
    params = [*widevine(authenticator), ("securityLevel", "2"), ("errorFormat", "json")]
    response = invoke(rest_event("GET", WV_PATH, params))
    body = json.loads(response["body"])
    assert (response["statusCode"], body["errorCode"]) == (400, -7004)
    assert body["errorMessage"].endswith("securityLevel given more than once")
