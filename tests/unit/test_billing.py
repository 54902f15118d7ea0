"""A request that ends in an error never takes allowance, not even for a moment; expiry is never short."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.core.drm import Drm
from drmtoken.core.token import Keyring, open_token
from drmtoken.issue.service import issue_token
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import REMOVE, RFC3394_EK, RFC3394_KEK, fairplay, widevine

KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1


def key_store_request(authenticator: str, kek: str = RFC3394_KEK, **changes: Any) -> list[tuple[str, str]]:
    return widevine(authenticator, contentKey=REMOVE, kek=kek, errorFormat="json", **changes)


def test_a_missing_stored_key_is_refused_before_anything_is_counted(
    authenticator: str, store: AdminStore, dynamodb_calls: list[str]
) -> None:
    dynamodb_calls.clear()
    assert error_of(invoke(rest_event("GET", WV_PATH, key_store_request(authenticator))))[:2] == (400, -4019)
    assert dynamodb_calls == ["GetItem", "GetItem"]  # the key, then the account read: no write at all
    assert store.get_customer("acme").issued["test"] == 0


@pytest.mark.parametrize("stored", [True, False])
def test_a_stranger_gets_2018_whether_or_not_a_key_is_stored(
    stored: bool, authenticator: str, store: AdminStore
) -> None:
    if stored:
        store.put_key("acme", KID1, bytes.fromhex(RFC3394_EK))
    stranger = "acme," + "0" * 32
    response = invoke(rest_event("GET", WV_PATH, key_store_request(stranger)))
    assert error_of(response)[:2] == (401, -2018)
    assert store.get_customer("acme").issued["test"] == 0


def test_the_account_refusal_comes_before_4019(authenticator: str, store: AdminStore) -> None:
    store.set_limit("acme", "test", 0)
    assert error_of(invoke(rest_event("GET", WV_PATH, key_store_request(authenticator))))[:2] == (403, -2019)
    store.set_status("acme", active=False)
    assert error_of(invoke(rest_event("GET", WV_PATH, key_store_request(authenticator))))[:2] == (401, -2031)


def test_a_failed_key_lookup_is_503_and_counts_nothing(
    authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_key("acme", KID1, bytes.fromhex(RFC3394_EK))

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(aws.client("dynamodb"), "get_item", throttled)
    assert error_of(invoke(rest_event("GET", WV_PATH, key_store_request(authenticator))))[:2] == (503, -2030)
    monkeypatch.undo()
    assert store.get_customer("acme").issued["test"] == 0


def test_relative_expiry_counts_from_sealing_and_rounds_up(
    authenticator: str, keyring: Keyring, service_env: dict[str, str]
) -> None:
    """A charge that took 1.5 s still gives +1 a whole second to live after it is issued."""
    arrived = 1_000_000.7
    params = {name: [value] for name, value in widevine(authenticator, expirationTime="+1")}
    issued = issue_token(Drm.WIDEVINE, params, runtime.get_runtime(), arrived, lambda: arrived + 1.5)
    assert issued.claims is not None
    assert issued.claims["expiresAt"] == 1_000_004  # ceil(arrived + 1.5 + 1)
    assert issued.claims["expiresAt"] - (arrived + 1.5) >= 1


def test_an_absolute_expiry_that_passes_during_the_charge_is_refused_and_given_back(
    authenticator: str, store: AdminStore, keyring: Keyring
) -> None:
    arrived = time.time()
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(arrived + 2))
    params = {name: [value] for name, value in widevine(authenticator, expirationTime=soon)}
    refused = issue_token(Drm.WIDEVINE, params, runtime.get_runtime(), arrived, lambda: arrived + 3)
    assert refused.code == -2002
    assert store.get_customer("acme").issued["test"] == 0


def test_a_token_is_never_issued_expired(authenticator: str, keyring: Keyring) -> None:
    for _ in range(20):
        response = invoke(rest_event("GET", FP_PATH, fairplay(authenticator, expirationTime="+1")))
        claims = open_token(keyring, response["body"].split("=", 1)[1], "fp")  # raises if already expired
        assert claims["expiresAt"] - claims["issuedAt"] in (1, 2)


def test_a_warm_function_reads_a_stored_key_once(
    authenticator: str, store: AdminStore, dynamodb_calls: list[str]
) -> None:
    """A live event asks for one title's key thousands of times a second: one item must not take every read."""
    store.put_key("acme", KID1, bytes.fromhex(RFC3394_EK))
    dynamodb_calls.clear()
    for _ in range(3):
        assert invoke(rest_event("GET", WV_PATH, key_store_request(authenticator)))["statusCode"] == 200
    assert dynamodb_calls == ["GetItem", "GetItem", *["TransactWriteItems"] * 3]  # the key, the shard count
    dynamodb_calls.clear()
    other = key_store_request(authenticator, kid="0" * 32)
    for _ in range(2):
        assert error_of(invoke(rest_event("GET", WV_PATH, other)))[1] == -4019
    assert dynamodb_calls == ["GetItem", "GetItem"] * 2  # the missing key read each time, then the account
