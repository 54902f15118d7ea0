"""Redemption on the Clear Key route (docs/rights-api.md sections 1, 2, 5, 6, 7), through its handler on moto."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from drmtoken.adapters import aws
from drmtoken.core.token import Keyring, seal_token
from drmtoken.settings import Settings, SettingsError
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.emf import emf_lines
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import CONTENT_KEY, fairplay, widevine

CK_PATH = "/hms/ck/rights/"
KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def clearkey_request(*kids: str) -> str:
    return json.dumps({"kids": [b64url(bytes.fromhex(kid)) for kid in kids or (KID1,)], "type": "temporary"})


@pytest.fixture(autouse=True)
def clearkey_on(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")


def token_url(authenticator: str, **changes: Any) -> str:
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"])


def redeem(url_or_token: str, body: str | bytes = "", method: str = "POST", **headers: str) -> dict[str, Any]:
    token = url_or_token.split("ExpressPlayToken=", 1)[-1]
    target = f"{CK_PATH}?ExpressPlayToken={token}" if token else CK_PATH
    raw = body if isinstance(body, bytes) else body.encode()
    event = rest_event(method, target, headers={"Content-Type": "application/json", **headers})
    event.update(body=base64.b64encode(raw).decode() if raw else None, isBase64Encoded=bool(raw))  # binary, as deployed
    return invoke(event)


def refusal(response: dict[str, Any]) -> tuple[int, int, str]:
    body = json.loads(response["body"])
    return response["statusCode"], body["errorCode"], body["errorMessage"]


def records(dynamodb: Any, service_env: dict[str, str]) -> list[dict[str, Any]]:
    table = service_env.get("RECORDS_TABLE", "drm-token-records")
    items = dynamodb.scan(TableName=table)["Items"]
    # Oldest first: records of one customer lie in several partition keys, which a scan visits in no order.
    return sorted((i for i in items if not i["pk"]["S"].startswith("uses#")), key=lambda i: i["sk"]["S"])


def test_a_widevine_token_yields_its_key_as_a_clear_key_license(
    authenticator: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    response = redeem(token_url(authenticator, cookie="viewer-7"), clearkey_request(KID1, "00" * 16))
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    license_ = json.loads(response["body"])
    assert license_ == {
        "keys": [{"kty": "oct", "kid": b64url(bytes.fromhex(KID1)), "k": b64url(bytes.fromhex(CONTENT_KEY))}],
        "type": "temporary",
    }
    (record,) = records(dynamodb, service_env)
    fields = {name: next(iter(value.values())) for name, value in record.items()}
    assert fields["customerId"] == "acme" and fields["cookie"] == "viewer-7" and fields["kid"] == KID1
    assert (fields["drm"], fields["kind"], fields["status"], fields["code"]) == ("ck", "license", "200", "0")
    assert CONTENT_KEY not in json.dumps(record) and "ExpressPlayToken" not in json.dumps(record)


@pytest.mark.parametrize(
    ("case", "status", "code", "reason"),
    [
        ("no token", 401, -4010, "no token"),
        ("not base64url", 401, -4010, "not base64url"),
        ("tampered", 401, -4010, "authentication tag does not match"),
        ("fairplay token", 401, -4010, "not a wv token"),
        ("expired", 401, -4010, "expired"),
        ("empty body", 400, -7008, "empty body"),
        ("not a clear key request", 400, -7008, "not a Clear Key license request"),
        ("another kid", 400, -4023, "none of the requested KIDs is in the token"),
    ],
)
def test_every_refusal_row(
    case: str, status: int, code: int, reason: str, authenticator: str, keyring: Keyring, dynamodb: Any
) -> None:
    url = token_url(authenticator)
    token = url.split("=", 1)[1]
    body = clearkey_request()
    if case == "no token":
        token = ""
    elif case == "not base64url":
        token = token[:10] + "!" + token[11:]
    elif case == "tampered":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    elif case == "fairplay token":
        token = invoke(rest_event("GET", FP_PATH, fairplay(authenticator)))["body"].split("=", 1)[1]
    elif case == "expired":
        claims = {"tokenId": "t1", "drm": "wv", "customerId": "acme", "expiresAt": int(time.time()) - 1}
        token = seal_token(keyring, "wv", {**claims, "kid": KID1, "contentKey": CONTENT_KEY})
    elif case == "empty body":
        body = ""
    elif case == "not a clear key request":
        body = "kids=abc"
    elif case == "another kid":
        body = clearkey_request("11" * 16)
    got_status, got_code, message = refusal(redeem(token, body))
    assert (got_status, got_code) == (status, code)
    assert reason in message
    assert CONTENT_KEY not in message and (not token or token not in message)


def test_a_token_that_does_not_open_costs_nothing_and_leaves_no_record(
    authenticator: str, dynamodb_calls: list[str], dynamodb: Any, service_env: dict[str, str]
) -> None:
    url = token_url(authenticator)
    dynamodb_calls.clear()
    assert refusal(redeem(url[:-3] + "xyz", clearkey_request()))[:2] == (401, -4010)
    assert dynamodb_calls == []
    assert records(dynamodb, service_env) == []


def test_max_uses_is_exact_and_a_failed_redemption_gives_its_use_back(
    authenticator: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    url = token_url(authenticator, maxUses="2")
    assert refusal(redeem(url, clearkey_request("11" * 16)))[:2] == (400, -4023)  # no license: use given back
    assert redeem(url, clearkey_request())["statusCode"] == 200
    assert redeem(url, clearkey_request())["statusCode"] == 200
    assert refusal(redeem(url, clearkey_request())) == (403, -4010, "Invalid token: use limit reached")
    assert [r["status"]["N"] for r in sorted(records(dynamodb, service_env), key=lambda r: r["sk"]["S"])] == [
        "400",
        "200",
        "200",
        "403",
    ]


def test_a_token_without_max_uses_is_not_counted(authenticator: str, dynamodb: Any) -> None:
    url = token_url(authenticator)
    assert all(redeem(url, clearkey_request())["statusCode"] == 200 for _ in range(3))
    assert not any(
        item["pk"]["S"].startswith("uses#") for item in dynamodb.scan(TableName="drm-token-records")["Items"]
    )


def test_the_preflight_opens_no_token_and_calls_nothing(dynamodb_calls: list[str]) -> None:
    response = redeem("", method="OPTIONS", Origin="http://127.0.0.1:8000")
    assert response["statusCode"] == 204 and response["body"] == ""
    assert response["headers"]["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["headers"]["Access-Control-Allow-Headers"] == "Content-Type, ExpressPlayToken, Drm-Renewal-Of"
    assert response["headers"]["Access-Control-Max-Age"] == "86400"
    assert dynamodb_calls == []


def test_allowed_origins_are_honoured(authenticator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://player.example, https://other.example")
    url = token_url(authenticator)
    allowed = redeem(url, clearkey_request(), Origin="https://player.example")
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://player.example"
    refused = redeem(url, clearkey_request(), Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused["headers"]


def test_the_token_may_come_in_a_header(authenticator: str) -> None:
    token = token_url(authenticator).split("=", 1)[1]
    assert redeem("", clearkey_request(), ExpressPlayToken=token)["statusCode"] == 200


def test_other_methods_are_405_and_large_bodies_1002(authenticator: str) -> None:
    response = redeem(token_url(authenticator), method="GET")
    assert refusal(response)[:2] == (405, -1001) and response["headers"]["Allow"] == "POST, OPTIONS"
    assert refusal(redeem(token_url(authenticator), "x" * (64 * 1024 + 1)))[:2] == (400, -1002)


def test_clear_key_switched_off_is_an_unknown_route(authenticator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = token_url(authenticator)
    monkeypatch.setenv("CLEARKEY_ENABLED", "false")
    assert refusal(redeem(url, clearkey_request()))[:2] == (404, -1000)


def test_clear_key_is_refused_on_prod_by_the_code(keyring_json: str) -> None:
    with pytest.raises(SettingsError, match="prod"):
        Settings.from_env({"ENVIRONMENT": "prod", "CLEARKEY_ENABLED": "true", "TOKEN_KEYRING": keyring_json})


def test_records_hold_what_the_contract_lists_and_nothing_else(
    authenticator: str, store: AdminStore, dynamodb: Any, service_env: dict[str, str]
) -> None:
    redeem(token_url(authenticator, cookie="c1"), clearkey_request(), **{"User-Agent": "Player/1.0"})
    (record,) = records(dynamodb, service_env)
    allowed = {"pk", "sk", "cookieKey", "expiresAt", "time", "tokenId", "customerId", "drm", "kind", "kid", "cookie"}
    allowed |= {"status", "code", "sourceIp", "userAgent", "streamId"}
    assert set(record) <= allowed
    assert record["userAgent"]["S"] == "Player/1.0"
    bucket = record["pk"]["S"].removeprefix("acme#")  # one of the customer's buckets, the same for both keys
    assert 0 <= int(bucket) < 32 and record["cookieKey"]["S"] == f"acme#c1#{bucket}"
    retention = int(record["expiresAt"]["N"]) - int(record["time"]["N"]) // 1000
    assert retention == 30 * 86400
    assert aws.client("dynamodb") is dynamodb


def test_a_token_sealed_with_a_key_not_in_the_ring_is_4010(authenticator: str) -> None:
    other = Keyring.from_json(Keyring.generate_json("zz"))
    claims = {"tokenId": "t", "drm": "wv", "customerId": "acme", "expiresAt": int(time.time()) + 60, "kid": KID1}
    token = seal_token(other, "wv", {**claims, "contentKey": CONTENT_KEY})
    status, code, message = refusal(redeem(token, clearkey_request()))
    assert (status, code) == (401, -4010) and "not in the keyring" in message


def test_a_failed_reservation_is_503_and_takes_nothing(
    authenticator: str, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    url = token_url(authenticator, maxUses="1")

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    with monkeypatch.context() as patched:
        patched.setattr(aws.client("dynamodb"), "update_item", throttled)
        answer = redeem(url, clearkey_request())
        assert refusal(answer)[:2] == (503, -2030) and answer["headers"]["Retry-After"] == "1"
    assert redeem(url, clearkey_request())["statusCode"] == 200  # nothing was taken


def test_each_redemption_writes_one_emf_line_with_its_facts(
    authenticator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = token_url(authenticator, cookie="viewer-3")
    capsys.readouterr()
    redeem(url, clearkey_request())
    redeem(url, clearkey_request("11" * 16))
    issued, refused = emf_lines(capsys.readouterr().out)
    assert (issued["LicensesIssued"], issued["drm"], issued["code"], issued["status"]) == (1, "ck", "0", 200)
    assert (refused["LicensesRefused"], refused["code"], refused["status"]) == (1, "-4023", 400)
    assert issued["cookie"] == "viewer-3" and issued["kid"] == KID1 and issued["kind"] == "license"
    assert CONTENT_KEY not in json.dumps([issued, refused]) and url.split("=", 1)[1] not in json.dumps(
        [issued, refused]
    )


def test_clear_key_on_a_prod_deployment_is_a_500_not_a_license(
    authenticator: str, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drmtoken import runtime

    monkeypatch.setenv("ENVIRONMENT", "prod")
    runtime.reset()
    claims = {"tokenId": "t", "drm": "wv", "customerId": "acme", "expiresAt": int(time.time()) + 60, "kid": KID1}
    response = redeem(seal_token(keyring, "wv", {**claims, "contentKey": CONTENT_KEY}), clearkey_request())
    assert refusal(response) == (500, -2030, "Internal error")
