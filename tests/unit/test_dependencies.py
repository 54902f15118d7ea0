"""Failing dependencies answer 503 -2030, count nothing, and the next request after recovery works."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.net import free_port
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import fairplay, widevine


@pytest.mark.parametrize(
    "error_code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_dynamodb_error_is_503_and_counts_nothing(
    error_code: str, authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = aws.client("dynamodb")

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": error_code, "Message": "slow down"}}, "TransactWriteItems")

    monkeypatch.setattr(client, "transact_write_items", throttled)
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator, errorFormat="json")))
    assert error_of(response) == (503, -2030, "application/json")
    assert "slow down" not in response["body"] and "TransactWriteItems" not in response["body"]
    monkeypatch.undo()
    assert store.get_customer("acme").issued["test"] == 0


def test_unreachable_dynamodb_is_503_then_recovers(
    authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    runtime.reset()
    assert error_of(invoke(rest_event("GET", FP_PATH, fairplay(authenticator))))[:2] == (503, -2030)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    runtime.reset()
    assert invoke(rest_event("GET", FP_PATH, fairplay(authenticator)))["statusCode"] == 200
    assert store.get_customer("acme").issued["test"] == 1


def test_keyring_from_secrets_manager(
    authenticator: str, keyring_json: str, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="keyring", SecretString=keyring_json)["ARN"]
    monkeypatch.delenv("TOKEN_KEYRING")
    monkeypatch.setenv("TOKEN_KEYRING_SECRET", arn)
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator)))
    assert open_token(keyring, response["body"].split("=", 1)[1], "wv")["customerId"] == "acme"


def test_secrets_manager_failure_at_cold_start_is_503_and_counts_nothing(
    authenticator: str, keyring_json: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOKEN_KEYRING")
    monkeypatch.setenv("TOKEN_KEYRING_SECRET", "missing-keyring")
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(authenticator))))[:2] == (503, -2030)
    assert store.get_customer("acme").issued["test"] == 0
    boto3.client("secretsmanager").create_secret(Name="missing-keyring", SecretString=keyring_json)
    assert invoke(rest_event("GET", WV_PATH, widevine(authenticator)))["statusCode"] == 200


def test_unusable_keyring_is_503(authenticator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_KEYRING", json.dumps({"active": "a", "keys": {}}))
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(authenticator))))[:2] == (503, -2030)


def test_unexpected_failure_is_500_without_internals(authenticator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("internal detail /var/task/x.py")

    monkeypatch.setattr("drmtoken.issue.service.seal_token", broken)
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator)))
    assert error_of(response) == (500, -2030, "text/html; charset=utf-8")
    assert "internal detail" not in response["body"] and "Request id:" in response["body"]


def test_bad_deployment_setting_is_500(authenticator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(authenticator))))[:2] == (500, -2030)
