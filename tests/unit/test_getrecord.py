"""`GET /cmiapi/getrecord/`: a customer's own records, newest first, paged, by cookie (docs/rights-api.md §6)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from drmtoken.adapters.records import DynamoRecordReader, DynamoRecords
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.lambdas import WV_PATH, error_of, invoke
from tests.support.requests import widevine

GETRECORD = "/cmiapi/getrecord/"
REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1


@pytest.fixture(autouse=True)
def clearkey_on(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")


def redeem_once(authenticator: str, cookie: str) -> int:
    url = invoke(rest_event("GET", WV_PATH, widevine(authenticator, cookie=cookie)))["body"]
    event = rest_event("POST", "/hms/ck/rights/?ExpressPlayToken=" + url.split("=", 1)[1])
    event.update(body=base64.b64encode(REQUEST).decode(), isBase64Encoded=True)
    return int(invoke(event)["statusCode"])


def getrecord(authenticator: str, **params: str) -> dict[str, Any]:
    return invoke(rest_event("GET", GETRECORD, [("customerAuthenticator", authenticator), *params.items()]))


def test_records_are_newest_first_paged_and_filtered_by_cookie(authenticator: str) -> None:
    for cookie in ("a", "b", "a", "a"):
        assert redeem_once(authenticator, cookie) == 200
    everything = json.loads(getrecord(authenticator)["body"])
    assert [r["cookie"] for r in everything["records"]] == ["a", "a", "b", "a"]
    assert everything["next"] is None
    times = [r["time"] for r in everything["records"]]
    assert times == sorted(times, reverse=True)
    first = json.loads(getrecord(authenticator, cookie="a", length="2")["body"])
    assert [r["cookie"] for r in first["records"]] == ["a", "a"] and first["next"]
    rest = json.loads(getrecord(authenticator, cookie="a", length="2", start=first["next"])["body"])
    assert [r["cookie"] for r in rest["records"]] == ["a"]
    seen = {r["tokenId"] for r in first["records"] + rest["records"]}
    assert len(seen) == 3
    record = everything["records"][0]
    assert set(record) <= {"time", "tokenId", "customerId", "drm", "kind", "kid", "cookie", "status", "code"} | {
        "sourceIp",
        "userAgent",
        "streamId",
    }


def test_a_customer_sees_only_its_own_records(authenticator: str, store: AdminStore) -> None:
    assert redeem_once(authenticator, "mine") == 200
    store.create_customer("other", widevine=True)
    other = "other," + store.add_authenticator("other", "test")
    assert json.loads(getrecord(other)["body"])["records"] == []
    assert json.loads(getrecord(other, cookie="mine")["body"])["records"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"length": "0"}, -1101),
        ({"length": "33"}, -1101),
        ({"start": "not-a-cursor"}, -1102),
        ({"start": base64.urlsafe_b64encode(b"other#key").decode()}, -1102),
        ({"cookie": "x" * 33}, -2033),
    ],
)
def test_bad_paging_says_what_was_wrong(authenticator: str, params: dict[str, str], code: int) -> None:
    status, answered, _ = error_of(getrecord(authenticator, errorFormat="json", **params))
    assert (status, answered) == (400, code)
    message = json.loads(getrecord(authenticator, errorFormat="json", **params)["body"])["errorMessage"]
    assert next(iter(params)) in message and "contentId" not in message


def test_a_cursor_spelled_otherwise_than_given_is_refused(authenticator: str) -> None:
    assert redeem_once(authenticator, "c1") == 200 and redeem_once(authenticator, "c2") == 200
    cursor = json.loads(getrecord(authenticator, length="1")["body"])["next"]
    assert json.loads(getrecord(authenticator, length="1", start=cursor)["body"])["records"]
    for padded in (cursor + "=", cursor + "==", cursor + "===", cursor.replace("-", "+")):
        if padded != cursor:
            assert error_of(getrecord(authenticator, errorFormat="json", start=padded))[:2] == (400, -1102), padded


def test_authentication_is_that_of_the_token_routes(authenticator: str, store: AdminStore) -> None:
    assert error_of(invoke(rest_event("GET", GETRECORD, [("errorFormat", "json")])))[:2] == (401, -2017)
    assert error_of(getrecord("acme," + "0" * 32, errorFormat="json"))[:2] == (401, -2018)
    assert error_of(getrecord("ghost," + "0" * 32, errorFormat="json"))[:2] == (401, -2018)
    store.set_status("acme", active=False)
    assert error_of(getrecord(authenticator))[:2] == (401, -2031)
    response = invoke(rest_event("POST", GETRECORD, [("customerAuthenticator", authenticator)]))
    assert error_of(response)[:2] == (405, -1001) and response["headers"]["Allow"] == "GET"


def test_paging_over_the_buckets_misses_nothing_and_repeats_nothing(
    dynamodb: Any, service_env: dict[str, str], dynamodb_calls: list[str]
) -> None:
    """130 records spread over the customer's buckets come back newest first, 7 a page, in 32 queries a page."""
    writer = DynamoRecords(dynamodb, service_env["RECORDS_TABLE"])
    reader = DynamoRecordReader(dynamodb, service_env["RECORDS_TABLE"])
    for n in range(130):
        customer = "acme" if n % 13 else "other"
        record = {
            "time": 1_796_000_000_000 + n // 3,
            "tokenId": f"{n:032x}",
            "customerId": customer,
            "cookie": "ab"[n % 2],
        }
        writer.put(record, 86400)
    buckets = {item["pk"]["S"] for item in dynamodb.scan(TableName=service_env["RECORDS_TABLE"])["Items"]}
    assert len([bucket for bucket in buckets if bucket.startswith("acme#")]) >= 16  # no one partition key
    for cookie in (None, "a"):
        expected = sorted(
            (n for n in range(130) if n % 13 and (cookie is None or "ab"[n % 2] == cookie)),
            key=lambda n: (1_796_000_000_000 + n // 3, f"{n:032x}"),
            reverse=True,
        )
        seen: list[int] = []
        position = None
        while True:
            dynamodb_calls.clear()
            page, position = reader.page("acme", cookie, 7, position)
            assert dynamodb_calls == ["Query"] * 32  # bounded: one per bucket, whatever the page
            seen += [int(record["tokenId"], 16) for record in page]
            if position is None:
                break
        assert seen == expected


@pytest.mark.parametrize("cookie", [None, "a"])
def test_a_page_costs_the_33_calls_the_contract_says(
    authenticator: str, dynamodb_calls: list[str], cookie: str | None
) -> None:
    """docs/rights-api.md §6: one GetItem of the customer and one Query per bucket, whatever the filter."""
    assert redeem_once(authenticator, "a") == 200
    dynamodb_calls.clear()
    answer = getrecord(authenticator, **({"cookie": cookie} if cookie else {}))
    assert answer["statusCode"] == 200 and len(json.loads(answer["body"])["records"]) == 1
    assert sorted(dynamodb_calls) == ["GetItem"] + ["Query"] * 32
