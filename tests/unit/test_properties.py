"""Property-based: any request gets a documented answer; every valid request gets a token.

Example counts are fixed and the search is derandomized, so CI time and results are stable.
"""

from __future__ import annotations

import base64
import string
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmtoken.core.errors import ERRORS
from drmtoken.core.token import Keyring, open_token
from drmtoken.issue.params import PARAMETERS
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke

ANY_INPUT_EXAMPLES = 400
VALID_EXAMPLES = 150
PROPERTY_SETTINGS = settings(
    max_examples=ANY_INPUT_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

KNOWN_NAMES = sorted({p.name for p in PARAMETERS} | {"errorFormat", "useHttps", "rightsType", "prFlag"})
HEX = "0123456789abcdefABCDEF"

names = st.one_of(st.sampled_from(KNOWN_NAMES), st.text(max_size=12))
values = st.one_of(
    st.text(max_size=40),  # any unicode, control characters included
    st.text(alphabet=HEX, min_size=0, max_size=70),
    st.sampled_from(["", "0", "1", "-1", "^", "^kid1", "+60", " 60", "0000", "json", "html", "a,b", "abcd,AAAA"]),
    st.text(alphabet="x", min_size=4090, max_size=4200),  # around the 4 KiB value bound
)
pairs = st.lists(st.tuples(names, values), max_size=70)


@st.composite
def any_event(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """Requests of every shape: query or body, good or broken encodings, any method."""
    params = draw(pairs)
    method = draw(st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD"]))
    transport = draw(
        st.sampled_from(["query", "form", "form-base64", "raw-bytes", "bad-base64", "wrong-type", "get-body"])
    )
    if transport == "query":
        return rest_event(method, path, params)
    if transport == "form":
        return rest_event("POST", path, form=params)
    if transport == "form-base64":
        return rest_event("POST", path, form=params, base64_body=True)
    if transport == "raw-bytes":  # bad percent-escapes and invalid UTF-8
        raw = draw(st.binary(max_size=300)) + b"&kid=%zz%c3%28&x=%"
        event = rest_event("POST", path, body="", content_type="application/x-www-form-urlencoded")
        event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
        return event
    if transport == "bad-base64":
        event = rest_event("POST", path, body="", content_type="application/x-www-form-urlencoded")
        event.update(body=draw(st.text(max_size=50)) + "!!", isBase64Encoded=True)
        return event
    if transport == "wrong-type":
        content_type = draw(st.sampled_from(["text/plain", "application/json", "multipart/form-data", ""]))
        return rest_event("POST", path, body=urlencode(params), content_type=content_type or None)
    event = rest_event(
        "GET", path, params[:3], body=urlencode(params), content_type="application/x-www-form-urlencoded"
    )
    return event


def assert_documented(response: dict[str, Any]) -> None:
    if response["statusCode"] == 200:
        assert response["headers"]["Content-Type"] == "text/uri-list"
        assert response["body"].startswith("https://") and "ExpressPlayToken=" in response["body"]
        return
    status, code, content_type = error_of(response)
    assert status < 500, response["body"]
    assert code in ERRORS and ERRORS[code][0] == status
    assert content_type in ("application/json", "text/html; charset=utf-8")


@pytest.mark.parametrize("path", [WV_PATH, FP_PATH])
def test_any_request_gets_a_documented_answer(path: str, authenticator: str) -> None:
    @PROPERTY_SETTINGS
    @given(event=any_event(path), with_authenticator=st.booleans())
    def check(event: dict[str, Any], with_authenticator: bool) -> None:
        if with_authenticator and event["multiValueQueryStringParameters"] is not None:
            event["multiValueQueryStringParameters"]["customerAuthenticator"] = [authenticator]
        assert_documented(invoke(event))

    check()


# --- valid requests ----------------------------------------------------------------------------

hex_digits = st.text(alphabet=HEX, min_size=32, max_size=32)
printable_ascii = st.text(alphabet=string.printable[:95], min_size=1, max_size=32)  # ' ' to '~'
extension = st.builds(
    lambda kind, payload: f"{kind},{base64.b64encode(payload).decode()}",
    st.text(alphabet=string.ascii_letters + string.digits + "!#$%&*+-.:;<=>?@^_|~", min_size=4, max_size=4),
    st.binary(min_size=1, max_size=1024),
)
common = {
    "contentKey": hex_digits,
    "generalFlags": st.sampled_from(["0000", "00000000"]),
    "expirationTime": st.integers(1, 30 * 86400 - 5).map(lambda n: f"+{n}"),
    "cookie": printable_ascii,
}
kid = st.one_of(hex_digits, st.text(min_size=1, max_size=64).map(lambda text: "^" + text))


@st.composite
def valid_params(draw: st.DrawFn, drm: str) -> list[tuple[str, str]]:
    chosen: dict[str, Any] = {"contentKey": draw(hex_digits), "kid": draw(kid)}
    for name, strategy in common.items():
        if draw(st.booleans()):
            chosen[name] = draw(strategy)
    if drm == "wv":
        chosen["securityLevel"] = str(draw(st.integers(1, 5)))
        chosen["hdcpOutputControl"] = str(draw(st.integers(0, 2)))
        if draw(st.booleans()):
            chosen["licenseDuration"] = str(draw(st.integers(0, 2**31 - 1)))
        if draw(st.booleans()):
            chosen["contentId"] = draw(st.text(min_size=1, max_size=256).filter(str.isprintable))
    else:
        chosen["iv"] = draw(hex_digits)
        if draw(st.booleans()):
            chosen["rentalDuration"] = str(draw(st.integers(0, 2**31 - 1)))
    pairs = list(chosen.items())
    pairs += [(f"{drm}Extension", value) for value in draw(st.lists(extension, max_size=16))]
    return [(name, value) for name, value in pairs if value != ""]


@pytest.mark.parametrize("drm", ["wv", "fp"])
def test_every_valid_request_gets_a_token(drm: str, authenticator: str, keyring: Keyring) -> None:
    path = WV_PATH if drm == "wv" else FP_PATH

    @settings(PROPERTY_SETTINGS, max_examples=VALID_EXAMPLES)
    @given(params=valid_params(drm), transport=st.sampled_from(["query", "form", "form-base64"]))
    def check(params: list[tuple[str, str]], transport: str) -> None:
        params = [("customerAuthenticator", authenticator), *params]
        if transport == "query":
            event = rest_event("GET", path, params)
        else:
            event = rest_event("POST", path, form=params, base64_body=transport == "form-base64")
        response = invoke(event)
        assert response["statusCode"] == 200, response["body"]
        # Expiry is checked below, not by the clock: a slow machine may pass a +1 s expiry.
        claims = open_token(keyring, response["body"].split("ExpressPlayToken=", 1)[1], drm, now=float("-inf"))
        given_values = dict(params)
        lifetime = int(given_values.get("expirationTime", f"+{30 * 86400}")[1:])
        assert claims["expiresAt"] - claims["issuedAt"] in (lifetime, lifetime + 1)
        assert claims["contentKey"] == given_values["contentKey"].lower()
        assert len(claims["extensions"]) == sum(1 for name, _ in params if name.endswith("Extension"))
        if "cookie" in given_values:
            assert claims["cookie"] == given_values["cookie"]

    check()


def test_query_value_with_a_literal_plus_reads_as_relative(authenticator: str) -> None:
    """`%2B60` decodes to `+60`; a bare `+60` arrives as ` 60`; both mean sixty seconds."""
    encoded = quote("+60", safe="")
    assert encoded == "%2B60"
    params = [("customerAuthenticator", authenticator), ("contentKey", "00" * 16), ("iv", "00" * 16)]
    for value in ("+60", " 60"):
        assert invoke(rest_event("GET", FP_PATH, [*params, ("expirationTime", value)]))["statusCode"] == 200
