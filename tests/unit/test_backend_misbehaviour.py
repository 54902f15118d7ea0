"""Back ends that misbehave (docs/rights-api.md §2, §7): nothing of theirs reaches a player, and no use is lost.

The stand-ins misbehave on demand (their docstrings list how): slow, trickling, huge, deeply
nested, quoting the key, or answering a good body with the wrong HTTP status. Each case must
end as the contract says, with the token's use given back and a record written.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from drmtoken.redeem.clearkey import ClearKeyBackend
from drmtoken_cli.devserver.ksm_standin import KsmStandIn
from drmtoken_cli.devserver.standin import deep_json
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import CONTENT_KEY, IV, fairplay, widevine

CLEARKEY_REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1
CHALLENGE = b"\x08\x01\x12\x10 a license request from a CDM"


@pytest.fixture
def back_ends(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]
) -> Iterator[tuple[WidevineStandIn, KsmStandIn]]:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    with WidevineStandIn() as widevine_service, KsmStandIn() as ksm:
        monkeypatch.setenv("WIDEVINE_PROVIDER", widevine_service.provider_json())
        monkeypatch.setenv("FAIRPLAY_KSM", ksm.url)
        yield widevine_service, ksm


def url_of(authenticator: str, path: str = WV_PATH, **changes: Any) -> str:
    build = widevine if path == WV_PATH else fairplay
    response = invoke(rest_event("GET", path, build(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"])


def redeem(
    url: str, route: str, body: bytes, content_type: str = "application/octet-stream", **kw: Any
) -> dict[str, Any]:
    token = url.split("ExpressPlayToken=", 1)[1]
    event = rest_event("POST", f"/hms/{route}/rights/?ExpressPlayToken={token}", headers={"Content-Type": content_type})
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    return invoke(event, **kw)


def status_and_code(response: dict[str, Any]) -> tuple[int, int]:
    if response["statusCode"] == 200:
        return 200, 0
    return response["statusCode"], json.loads(response["body"])["errorCode"]


def records(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName="drm-token-records")["Items"]
    # Oldest first: records of one customer lie in several partition keys, which a scan visits in no order.
    return sorted((i for i in items if not i["pk"]["S"].startswith("uses#")), key=lambda i: i["sk"]["S"])


# (route, body that makes its back end misbehave, what the player gets)
MISBEHAVIOURS = [
    ("wv", b"OKWITH:201", (503, -2030)),  # a license body, but not a 200: not a license
    ("wv", b"OKWITH:302", (503, -2030)),
    ("wv", b"OKWITH:404", (503, -2030)),
    ("wv", b"EMPTY", (503, -2030)),  # OK with a license of no bytes
    ("wv", b"HUGE", (503, -2030)),  # 8 MiB: past what is read
    ("wv", b"DEEP", (503, -2030)),  # 3,000 levels of JSON
    ("wv", b"not a license request", (400, -7008)),  # the service's INVALID_LICENSE_CHALLENGE
    ("fp", b"HTTP:404", (503, -2030)),  # a good CKC, with a 404
    ("fp", b"HUGE", (503, -2030)),
    ("fp", b"DEEP", (400, -6004)),
    ("fp", b"KEYLEAK", (400, -6004)),
]


@pytest.mark.parametrize(("route", "body", "answered"), MISBEHAVIOURS)
def test_a_misbehaving_back_end_is_no_license_and_gives_the_use_back(
    authenticator: str,
    back_ends: tuple[WidevineStandIn, KsmStandIn],
    dynamodb: Any,
    route: str,
    body: bytes,
    answered: tuple[int, int],
) -> None:
    url = url_of(authenticator, WV_PATH if route == "wv" else FP_PATH, maxUses="1")
    response = redeem(url, route, body)
    assert status_and_code(response) == answered, response["body"][:300]
    assert len(response["body"]) < 1000  # nothing of the back end's answer passed on
    good = CHALLENGE if route == "wv" else b"an SPC"
    assert status_and_code(redeem(url, route, good)) == (200, 0)  # the use came back: the one license is there
    assert [int(r["status"]["N"]) for r in records(dynamodb)] == [answered[0], 200]


def test_a_back_end_quoting_the_key_reaches_neither_the_player_nor_the_log(
    authenticator: str,
    back_ends: tuple[WidevineStandIn, KsmStandIn],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, iv = bytes.fromhex(CONTENT_KEY), bytes.fromhex(IV)
    spellings = [CONTENT_KEY, CONTENT_KEY.upper(), IV, IV.upper()]
    spellings += [base64.b64encode(v).decode().rstrip("=") for v in (key, iv)]
    spellings += [base64.urlsafe_b64encode(v).decode().rstrip("=") for v in (key, iv)]
    capsys.readouterr()
    fp = redeem(url_of(authenticator, FP_PATH), "fp", b"KEYLEAK")
    wv = redeem(url_of(authenticator), "wv", f"STATUS:KEY_{CONTENT_KEY.upper()}".encode())
    assert json.loads(fp["body"])["errorMessage"] == "Failed to generate CKC: the KSM refused"
    assert json.loads(wv["body"])["errorMessage"] == "Widevine license generation failed: UNKNOWN_STATUS"
    seen = capsys.readouterr()
    logged = seen.out + seen.err + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "cannot use key [redacted]" in logged and "KEY_[redacted]" in logged  # the operator still sees what was said
    assert [s for s in spellings if s.lower() in (logged + fp["body"] + wv["body"]).lower()] == []


@pytest.mark.parametrize("ending", [b"", b"10", b"CLOSE"])  # kept alive, HTTP/1.0, Connection: close
def test_a_back_end_trickling_its_answer_is_503_within_the_functions_time_with_the_use_back(
    authenticator: str, back_ends: tuple[WidevineStandIn, KsmStandIn], ending: bytes
) -> None:
    """An answer that says the connection will close hands its socket to the response: the deadline still holds."""
    marker = b"TRICKLE" + ending
    for route, path, body in (("fp", FP_PATH, marker), ("wv", WV_PATH, marker + CHALLENGE)):
        url = url_of(authenticator, path, maxUses="1")
        started = time.monotonic()
        response = redeem(url, route, body, timeout_seconds=3.5)  # 1.5 s for the back end, 2 s kept back
        elapsed = time.monotonic() - started
        assert status_and_code(response) == (503, -2030) and response["headers"]["Retry-After"] == "1"
        assert 1.4 < elapsed < 2.5, elapsed  # cut at the deadline, not at the trickle's end (~100 s)
        assert redeem(url, route, CHALLENGE if route == "wv" else b"an SPC")["statusCode"] == 200


def test_device_fields_are_bounded_and_clean_in_the_record(
    authenticator: str, back_ends: tuple[WidevineStandIn, KsmStandIn], dynamodb: Any
) -> None:
    assert redeem(url_of(authenticator), "wv", b"DEVICE" + CHALLENGE)["statusCode"] == 200
    (record,) = records(dynamodb)
    make, model = record["make"]["S"], record["model"]["S"]
    assert len(make) <= 64 and make.isprintable() and model == "ab"


@pytest.mark.parametrize(
    ("route", "body", "content_type", "answered"),
    [
        ("ck", deep_json(), "application/json", (400, -7008)),
        ("ck", b'{"kids":' + deep_json(2000) + b"}", "application/json", (400, -7008)),
        ("fp", b'{"spc":' + deep_json() + b"}", "application/json", (400, -6004)),
    ],
)
def test_deeply_nested_json_from_a_player_is_refused_and_the_use_comes_back(
    authenticator: str,
    back_ends: tuple[WidevineStandIn, KsmStandIn],
    dynamodb: Any,
    route: str,
    body: bytes,
    content_type: str,
    answered: tuple[int, int],
) -> None:
    url = url_of(authenticator, FP_PATH if route == "fp" else WV_PATH, maxUses="1")
    assert status_and_code(redeem(url, route, body, content_type)) == answered
    good = CLEARKEY_REQUEST if route == "ck" else b"an SPC"
    assert (
        redeem(url, route, good, "application/json" if route == "ck" else "application/octet-stream")["statusCode"]
        == 200
    )
    assert len(records(dynamodb)) == 2


def test_a_bug_after_the_reservation_is_500_recorded_with_the_use_back(
    authenticator: str, service_env: dict[str, str], dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    url = url_of(authenticator, maxUses="1")

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("a bug")

    with monkeypatch.context() as patched:
        patched.setattr(ClearKeyBackend, "issue", broken)
        response = redeem(url, "ck", CLEARKEY_REQUEST, "application/json")
    assert status_and_code(response) == (500, -2030)
    assert redeem(url, "ck", CLEARKEY_REQUEST, "application/json")["statusCode"] == 200
    assert sorted(int(r["status"]["N"]) for r in records(dynamodb)) == [200, 500]


def test_options_on_a_route_this_deployment_does_not_serve_is_404(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "false")
    event = rest_event("OPTIONS", "/hms/ck/rights/", headers={"Origin": "https://player.example"})
    response = invoke(event)
    assert status_and_code(response) == (404, -1000)
