"""Redemption on the real engine: use limits exact under concurrency, records written per redemption."""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.cli import drmtoken
from tests.support.lambdas import WV_PATH, invoke
from tests.support.requests import widevine

pytestmark = pytest.mark.integration
REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1


@pytest.fixture
def acme(local_store: AdminStore, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    local_store.create_customer("acme", widevine=True, fairplay=True)
    return "acme," + local_store.add_authenticator("acme", "test")


def clearkey_event(url: str, body: bytes = REQUEST, source_ip: str | None = None) -> dict[str, Any]:
    token = url.split("ExpressPlayToken=", 1)[1]
    event = rest_event(
        "POST", f"/hms/ck/rights/?ExpressPlayToken={token}", headers={"Content-Type": "application/json"}
    )
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    if source_ip is not None:
        event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


def test_50_parallel_redemptions_of_a_max_uses_3_token_yield_exactly_3(acme: str, local_env: dict[str, str]) -> None:
    url = invoke(rest_event("GET", WV_PATH, widevine(acme, maxUses="3")))["body"]
    runtime.get_rights_ports()  # warm, as 50 concurrent containers would be
    with ThreadPoolExecutor(max_workers=16) as pool:  # 50 players: each its own address
        statuses = list(
            pool.map(lambda n: invoke(clearkey_event(url, source_ip=f"198.51.100.{n}"))["statusCode"], range(50))
        )
    assert statuses.count(200) == 3
    # The rest: 403, or 503 (retry) while one of the 3 was still in flight and might have come back.
    assert statuses.count(403) + statuses.count(503) == 47
    assert invoke(clearkey_event(url, source_ip="198.51.100.99"))["statusCode"] == 403  # none in flight now
    items = aws.client("dynamodb").scan(TableName=local_env["RECORDS_TABLE"])["Items"]
    (counter,) = [item for item in items if item["pk"]["S"].startswith("uses#")]
    assert counter["uses"]["N"] == "3"
    assert len([item for item in items if item["pk"]["S"].startswith("acme#")]) == 51  # one record per redemption


def test_50_parallel_copies_of_one_request_from_one_player_yield_at_most_3(
    acme: str, local_env: dict[str, str]
) -> None:
    # The same bytes from the same address: a retry cannot be told from a copy sent at once, so
    # a copy takes the first one's reservation over, and only the owner may answer a license.
    url = invoke(rest_event("GET", WV_PATH, widevine(acme, maxUses="3")))["body"]
    runtime.get_rights_ports()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: invoke(clearkey_event(url))["statusCode"], range(50)))
    assert 1 <= statuses.count(200) <= 3 and set(statuses) <= {200, 403, 503}, statuses
    items = aws.client("dynamodb").scan(TableName=local_env["RECORDS_TABLE"])["Items"]
    (counter,) = [item for item in items if item["pk"]["S"].startswith("uses#")]
    assert int(counter["uses"]["N"]) == statuses.count(200)  # each use taken is a license answered


def test_a_refused_redemption_then_a_retry_still_yields_the_license(acme: str) -> None:
    url = invoke(rest_event("GET", WV_PATH, widevine(acme, maxUses="1")))["body"]
    wrong = json.dumps({"kids": ["AAAAAAAAAAAAAAAAAAAAAA"]}).encode()
    assert invoke(clearkey_event(url, wrong))["statusCode"] == 400  # no license: the use is given back
    assert invoke(clearkey_event(url))["statusCode"] == 200
    assert invoke(clearkey_event(url))["statusCode"] == 403


def test_drmtoken_records_shows_the_redemptions(acme: str, env: dict[str, str]) -> None:
    url = invoke(rest_event("GET", WV_PATH, widevine(acme, cookie="viewer-1")))["body"]
    assert invoke(clearkey_event(url))["statusCode"] == 200
    assert invoke(clearkey_event(url, b"{}"))["statusCode"] == 400
    shown = json.loads(drmtoken("records", "acme", "--cookie", "viewer-1", "--json", env=env).stdout)
    assert [(r["status"], r["code"]) for r in shown] == [(400, -7008), (200, 0)]
    token_id = shown[0]["tokenId"]
    lines = drmtoken("records", "acme", "--token-id", token_id, env=env).stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t", line) for line in lines), lines  # dates
    assert len(lines) == 2 and all(token_id in line for line in lines)
    assert drmtoken("records", "acme", "--cookie", "x" * 33, env=env, check=False).returncode == 2


def test_parallel_renewals_of_a_one_use_token_spend_nothing_on_the_real_engine(
    acme: str, local_env: dict[str, str]
) -> None:
    url = invoke(rest_event("GET", WV_PATH, widevine(acme, maxUses="1", renewalInterval="60")))["body"]
    first = invoke(clearkey_event(url))
    assert first["statusCode"] == 200
    renewal = clearkey_event(url)
    renewal["headers"]["Drm-Renewal-Of"] = first["headers"]["Drm-Stream-Id"]
    runtime.get_rights_ports()
    with ThreadPoolExecutor(max_workers=16) as pool:  # renewals racing first licenses of the same token
        renewed = pool.map(lambda _: invoke(renewal)["statusCode"], range(20))
        others = pool.map(lambda n: invoke(clearkey_event(url, source_ip=f"198.51.100.{n}"))["statusCode"], range(20))
        statuses, refused = list(renewed), list(others)
    assert statuses == [200] * 20 and set(refused) <= {403, 503} and 403 in refused
    forged = clearkey_event(url)
    ticket = first["headers"]["Drm-Stream-Id"]
    flipped = "B" if ticket[-10] == "A" else "A"  # a character inside the tag: other bytes, whatever it was
    forged["headers"]["Drm-Renewal-Of"] = ticket[:-10] + flipped + ticket[-9:]
    assert json.loads(invoke(forged)["body"])["errorCode"] == -4030
    items = aws.client("dynamodb").scan(TableName=local_env["RECORDS_TABLE"])["Items"]
    (counter,) = [item for item in items if item["pk"]["S"].startswith("uses#")]
    assert counter["uses"]["N"] == "1"  # the first license's, whatever the renewals did
    kinds = [item["kind"]["S"] for item in items if item["pk"]["S"].startswith("acme#")]
    assert kinds.count("renewal") == 21 and kinds.count("license") == 21
