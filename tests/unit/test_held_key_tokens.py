"""Tokens for held keys (docs/token-api.md, key source) and their multi-key licenses (docs/rights-api.md)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest

from drmtoken import runtime
from drmtoken.adapters.heldkeys import DynamoHeldKeys
from drmtoken.core.fairplay import ksm_request
from drmtoken.core.license import LICENSE, Terms
from drmtoken.core.rights import STREAMING, Rights
from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.ksm_standin import KsmStandIn, fake_ckc
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.apigw import rest_event, speke_event
from tests.support.cpix import ALL_SYSTEMS, new_kids, speke_v2
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import REMOVE, fairplay, widevine

CHALLENGE = b"\x08\x01\x12\x10 a license request from a CDM"


@pytest.fixture
def title(authenticator: str) -> dict[str, str]:
    """A title packaged through the key provider: kid (hex) -> its content key (hex), for acme's 'movie-7'."""
    tracks = dict(zip(new_kids(3), ("SD", "HD", "AUDIO"), strict=True))
    answer = invoke(speke_event("acme", speke_v2("movie-7", tracks, ALL_SYSTEMS)))
    assert answer["statusCode"] == 200, answer["body"]
    keys = {}
    for kid in tracks:
        value = answer["body"].split(f'kid="{kid}"', 1)[1].split("<pskc:PlainValue>", 1)[1].split("<", 1)[0]
        keys[uuid.UUID(kid).hex] = base64.b64decode(value).hex()
    return keys


def issue(path: str, authenticator: str, **changes: Any) -> dict[str, Any]:
    build = widevine if path == WV_PATH else fairplay
    return invoke(rest_event("GET", path, build(authenticator, **{"contentKey": REMOVE, "iv": REMOVE, **changes})))


def claims_of(response: dict[str, Any], keyring: Keyring) -> dict[str, Any]:
    assert response["statusCode"] == 200, response["body"]
    return open_token(keyring, response["body"].split("ExpressPlayToken=", 1)[1])


def test_a_token_by_content_carries_every_held_key_with_its_track(
    authenticator: str, title: dict[str, str], keyring: Keyring, store: AdminStore
) -> None:
    claims = claims_of(issue(WV_PATH, authenticator, kid=REMOVE, contentId="movie-7"), keyring)
    assert {k["kid"]: k["key"] for k in claims["keys"]} == title
    assert sorted(k["track"] for k in claims["keys"]) == ["AUDIO", "HD", "SD"]
    assert "contentKey" not in claims and store.get_customer("acme").issued["test"] == 1


def test_a_key_added_to_a_title_is_in_its_tokens_within_seconds_on_a_warm_function(
    authenticator: str, title: dict[str, str], keyring: Keyring
) -> None:
    """A live event's next key period: the title's list is kept 2 s, not the minute a held key is kept."""
    first = claims_of(issue(WV_PATH, authenticator, kid=REMOVE, contentId="movie-7"), keyring)
    assert len(first["keys"]) == 3
    period = new_kids(1)
    assert (
        invoke(speke_event("acme", speke_v2("movie-7", dict.fromkeys(period, "HD"), ALL_SYSTEMS)))["statusCode"] == 200
    )
    held = runtime.get_runtime().held_keys
    assert isinstance(held, DynamoHeldKeys)
    titles = held._titles  # the warm function's memory of titles
    now = time.monotonic()
    titles.clock = lambda: now + 1  # 1 s on: still the list it read (bounded reads on a hot title)
    assert len(claims_of(issue(WV_PATH, authenticator, kid=REMOVE, contentId="movie-7"), keyring)["keys"]) == 3
    titles.clock = lambda: now + 3  # 3 s on: read again, with the new period (it was the minute before)
    later = claims_of(issue(WV_PATH, authenticator, kid=REMOVE, contentId="movie-7"), keyring)
    assert {k["kid"] for k in later["keys"]} == set(title) | {uuid.UUID(period[0]).hex}


def test_a_token_by_kid_carries_that_key_alone(authenticator: str, title: dict[str, str], keyring: Keyring) -> None:
    kid = next(iter(title))
    claims = claims_of(issue(WV_PATH, authenticator, kid=kid.upper()), keyring)  # any case of hex
    assert [k["kid"] for k in claims["keys"]] == [kid] and claims["keys"][0]["key"] == title[kid]


def test_fairplay_takes_the_held_iv_and_keeps_a_given_one_as_the_single_field(
    authenticator: str, title: dict[str, str], keyring: Keyring
) -> None:
    held = claims_of(issue(FP_PATH, authenticator, contentId="movie-7"), keyring)
    assert all(len(k["iv"]) == 32 for k in held["keys"]) and held["iv"] == held["keys"][0]["iv"]
    given = claims_of(issue(FP_PATH, authenticator, contentId="movie-7", iv="ab" * 16), keyring)
    assert given["iv"] == "ab" * 16


@pytest.mark.parametrize(
    ("path", "changes"),
    [
        (WV_PATH, {"kid": REMOVE, "contentId": "no-such-title"}),
        (WV_PATH, {"kid": "ab" * 16}),
        (FP_PATH, {"contentId": "no-such-title"}),
    ],
)
def test_unknown_content_or_kid_is_4019_before_anything_is_counted(
    path: str, changes: dict[str, Any], authenticator: str, title: dict[str, str], store: AdminStore
) -> None:
    assert error_of(issue(path, authenticator, errorFormat="json", **changes))[:2] == (400, -4019)
    assert store.get_customer("acme").issued["test"] == 0


def test_another_customers_held_keys_are_never_found(store: AdminStore, title: dict[str, str]) -> None:
    store.create_customer("other", widevine=True, fairplay=True)
    other = "other," + store.add_authenticator("other", "test")
    for changes in ({"kid": REMOVE, "contentId": "movie-7"}, {"kid": next(iter(title))}):
        assert error_of(issue(WV_PATH, other, errorFormat="json", **changes))[:2] == (400, -4019)
    # A stranger hears the account's refusal, not whether a key is held.
    stranger = "nobody," + "0" * 32
    assert error_of(issue(WV_PATH, stranger, errorFormat="json", kid=REMOVE, contentId="movie-7"))[:2] == (401, -2018)


def redeem(route: str, url: str, body: bytes, content_type: str) -> dict[str, Any]:
    token = url.split("ExpressPlayToken=", 1)[1]
    event = rest_event("POST", f"/hms/{route}/rights/?ExpressPlayToken={token}", headers={"Content-Type": content_type})
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    return invoke(event)


def test_widevine_gets_one_key_spec_per_key_with_its_tracks_policy(
    authenticator: str, title: dict[str, str], stand_in: WidevineStandIn
) -> None:
    url = issue(
        WV_PATH,
        authenticator,
        kid=REMOVE,
        contentId="movie-7",
        securityLevel="1",
        hdcpOutputControl="0",
        trackPolicy=["HD,5,2", "SD,3,1"],
    )["body"]
    assert redeem("wv", url, CHALLENGE, "application/octet-stream")["statusCode"] == 200
    (seen,) = stand_in.seen
    specs = {base64.b64decode(s["key_id"]).hex(): s for s in seen["content_key_specs"]}
    assert {kid: base64.b64decode(s["key"]).hex() for kid, s in specs.items()} == title
    policy = {s["track_type"]: (s["security_level"], s["required_output_protection"]["hdcp"]) for s in specs.values()}
    assert policy == {"HD": (5, "HDCP_V2"), "SD": (3, "HDCP_V1"), "AUDIO": (1, "HDCP_NONE")}  # AUDIO: the default


def test_clear_key_answers_every_asked_kid_the_token_holds(
    authenticator: str, title: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    url = issue(WV_PATH, authenticator, kid=REMOVE, contentId="movie-7")["body"]
    kids = list(title)
    asked = [base64.urlsafe_b64encode(bytes.fromhex(k)).rstrip(b"=").decode() for k in [*kids[:2], "ab" * 16]]
    answer = redeem("ck", url, json.dumps({"kids": asked, "type": "temporary"}).encode(), "application/json")
    assert answer["statusCode"] == 200, answer["body"]
    got = {k["kid"]: base64.urlsafe_b64decode(k["k"] + "==").hex() for k in json.loads(answer["body"])["keys"]}
    assert got == {asked[0]: title[kids[0]], asked[1]: title[kids[1]]}  # not the KID it does not hold
    none = redeem("ck", url, json.dumps({"kids": [asked[2]]}).encode(), "application/json")
    assert none["statusCode"] == 400 and json.loads(none["body"])["errorCode"] == -4023


def test_the_ksm_gets_every_key_of_the_token(authenticator: str, title: dict[str, str], keyring: Keyring) -> None:
    claims = claims_of(issue(FP_PATH, authenticator, contentId="movie-7"), keyring)
    message = ksm_request(claims, b"spc", Terms(LICENSE, Rights(STREAMING), int(time.time())))
    assert {k["kid"]: k["contentKey"] for k in message["keys"]} == title
    assert all(len(k["iv"]) == 32 and k["trackType"] in ("SD", "HD", "AUDIO") for k in message["keys"])
    first = message["keys"][0]
    assert (message["kid"], message["contentKey"], message["iv"]) == (first["kid"], first["contentKey"], first["iv"])


def test_the_ksm_makes_the_ckc_from_the_key_the_spc_asks_for(
    authenticator: str, title: dict[str, str], keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = issue(FP_PATH, authenticator, contentId="movie-7")["body"]
    claims = claims_of({"statusCode": 200, "body": url}, keyring)
    with KsmStandIn() as ksm:
        monkeypatch.setenv("FAIRPLAY_KSM", ksm.url)
        for held in claims["keys"]:  # the SPC of each track's skd:// URI names its KID
            spc = b"KID:" + held["kid"].encode() + b" an SPC"
            answer = redeem("fp", url, spc, "application/octet-stream")
            assert answer["statusCode"] == 200, answer["body"]
            assert base64.b64decode(answer["body"]) == fake_ckc(spc, title[held["kid"]], held["iv"])
        stranger = b"KID:" + uuid.uuid4().hex.encode()
        refused = redeem("fp", url, stranger, "application/octet-stream")
        assert refused["statusCode"] == 400 and json.loads(refused["body"])["errorCode"] == -6004
