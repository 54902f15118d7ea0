"""The ports' rules (account gate, key store) and the operator's store, on moto, DynamoDB Local and in memory alike."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from drmtoken.adapters import aws
from drmtoken.adapters.dynamodb import DynamoAccounts, DynamoKeyStore
from drmtoken.core.account import Authenticator
from drmtoken.core.drm import Drm, profile
from drmtoken.core.errors import ApiError
from drmtoken.ports import AccountGate, KeyStore
from drmtoken_cli.admin_store import AdminStore, AuthenticatorNotFound, CustomerExists, CustomerNotFound
from tests.support.fakes import MemoryTables
from tests.support.lambdas import TEMPLATE

pytestmark = pytest.mark.integration


@dataclass
class Engine:
    admin: Any  # AdminStore, or MemoryTables which answers to the same calls
    accounts: AccountGate
    keys: KeyStore


def dynamodb_engine(client: Any, env: dict[str, str]) -> Engine:
    admin = AdminStore(client, env["CUSTOMERS_TABLE"], env["CONTENT_KEYS_TABLE"])
    return Engine(
        admin, DynamoAccounts(client, env["CUSTOMERS_TABLE"]), DynamoKeyStore(client, env["CONTENT_KEYS_TABLE"])
    )


@pytest.fixture(params=["moto", "dynamodb-local", "memory"])
def engine(request: pytest.FixtureRequest, service_env: dict[str, str]) -> Iterator[Engine]:
    if request.param == "moto":
        with mock_aws():
            client = aws.client("dynamodb")
            for arguments in TEMPLATE.tables().values():
                client.create_table(**{k: v for k, v in arguments.items() if k != "TimeToLiveSpecification"})
            yield dynamodb_engine(client, service_env)
    elif request.param == "dynamodb-local":
        request.getfixturevalue("local_env")
        yield dynamodb_engine(aws.client("dynamodb"), service_env)
    else:
        tables = MemoryTables()
        yield Engine(tables, tables, tables)


@pytest.fixture
def engine_store(engine: Engine) -> Any:
    return engine.admin


def charge(engine: Engine, authenticator: str, drm: Drm = Drm.WIDEVINE, enabled: bool = True, token: str = "") -> int:
    """0 when a token was counted, else the refusal code."""
    customer_id, secret = authenticator.split(",")
    try:
        engine.accounts.charge(
            Authenticator(customer_id, secret), "test", profile(drm), enabled, token or secrets.token_hex(16)
        )
    except ApiError as error:
        return error.code
    return 0


@pytest.fixture
def acme(engine_store: AdminStore) -> str:
    engine_store.create_customer("acme", widevine=True, fairplay=False, limits={"test": 3})
    return "acme," + engine_store.add_authenticator("acme", "test")


def test_create_twice_fails_and_changes_nothing(engine_store: AdminStore, acme: str) -> None:
    with pytest.raises(CustomerExists):
        engine_store.create_customer("acme", widevine=False, fairplay=True, limits={})
    customer = engine_store.get_customer("acme")
    assert customer.entitlements == {"widevine": True, "fairplay": False}
    assert customer.limits == {"test": 3, "prod": None}
    assert len(customer.authenticator_hashes["test"]) == 1


def test_charge_counts_up_to_the_limit_exactly(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    assert [charge(engine, acme) for _ in range(5)] == [0, 0, 0, -2019, -2019]
    assert engine_store.get_customer("acme").issued == {"test": 3, "prod": 0}


def test_refusals_in_spec_order_count_nothing(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    secret = acme.split(",")[1]
    assert charge(engine, "acme," + "0" * 32) == -2018
    assert charge(engine, "ghost," + secret) == -2018
    assert charge(engine, acme, Drm.FAIRPLAY) == -6006
    assert charge(engine, acme, Drm.WIDEVINE, enabled=False) == -7011
    engine_store.set_entitlement("acme", Drm.FAIRPLAY, True)
    assert charge(engine, acme, Drm.FAIRPLAY, enabled=False) == -6009
    engine_store.set_status("acme", active=False)
    assert charge(engine, acme) == -2031
    assert charge(engine, "acme," + "0" * 32) == -2018  # authentication is checked first
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_authenticator_of_the_other_environment_is_refused(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    prod = engine_store.add_authenticator("acme", "prod")
    assert charge(engine, "acme," + prod) == -2018


def test_several_live_authenticators_and_revocation(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    second = "acme," + engine_store.add_authenticator("acme", "test")
    assert charge(engine, acme) == 0 and charge(engine, second) == 0
    assert engine_store.revoke_authenticator("acme", acme.split(",")[1].upper()) == "test"
    assert charge(engine, acme) == -2018
    assert charge(engine, second) == 0
    engine_store.revoke_authenticator("acme", second.split(",")[1])
    assert engine_store.get_customer("acme").authenticator_hashes["test"] == set()
    with pytest.raises(AuthenticatorNotFound):
        engine_store.revoke_authenticator("acme", second.split(",")[1])


def test_limits_can_be_raised_and_removed(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    engine_store.set_limit("acme", "test", 1)
    assert [charge(engine, acme) for _ in range(2)] == [0, -2019]
    engine_store.set_limit("acme", "test", None)
    assert charge(engine, acme) == 0
    assert engine_store.get_customer("acme").limits["test"] is None


def test_refund_gives_back_one_token(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    assert charge(engine, acme) == 0
    engine.accounts.refund("acme", "test", "request-1")
    engine.accounts.refund("acme", "test", "request-2")  # never below zero
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_a_refund_under_a_real_token_id_counts_once(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    """Token ids are 32 hex digits: the refund's own request token must still fit DynamoDB's 36 characters."""
    token_id = secrets.token_hex(16)
    assert charge(engine, acme, token=token_id) == 0
    for _ in range(2):
        engine.accounts.refund("acme", "test", token_id)
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_a_request_token_counts_once(engine: Engine, engine_store: AdminStore, acme: str, request: Any) -> None:
    if "moto" in request.node.callspec.id:
        pytest.skip("moto does not implement ClientRequestToken; DynamoDB Local and the fake do")
    assert [charge(engine, acme, token="same-request") for _ in range(3)] == [0, 0, 0]
    assert engine_store.get_customer("acme").issued["test"] == 1


def test_unknown_customer_and_account_refusals_read_without_counting(
    engine: Engine, engine_store: AdminStore, acme: str
) -> None:
    customer_id, secret = acme.split(",")
    refusal = engine.accounts.refusal
    widevine, fairplay = profile(Drm.WIDEVINE), profile(Drm.FAIRPLAY)
    assert refusal(Authenticator("ghost", secret), "test", widevine, True) == -2018
    assert refusal(Authenticator(customer_id, "0" * 32), "test", widevine, True) == -2018
    assert refusal(Authenticator(customer_id, secret), "test", fairplay, True) == -6006
    assert refusal(Authenticator(customer_id, secret), "test", widevine, True) is None
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_item_without_a_counter_still_honours_its_limit(engine: Engine, engine_store: AdminStore) -> None:
    """An item written by hand, without tokensIssued_test: the limit still holds."""
    if not isinstance(engine_store, AdminStore):
        pytest.skip("a hand-written DynamoDB item has no in-memory equivalent")
    engine_store.client.put_item(
        TableName=engine_store.customers_table,
        Item={
            "customerId": {"S": "manual"},
            "status": {"S": "active"},
            "entitlements": {"M": {"widevine": {"BOOL": True}, "fairplay": {"BOOL": True}}},
            "tokenLimit_test": {"N": "1"},
        },
    )
    authenticator = "manual," + engine_store.add_authenticator("manual", "test")
    assert [charge(engine, authenticator) for _ in range(2)] == [0, -2019]


def test_operations_on_a_missing_customer(engine_store: AdminStore) -> None:
    for operation in (
        lambda: engine_store.get_customer("nobody"),
        lambda: engine_store.set_status("nobody", active=False),
        lambda: engine_store.set_limit("nobody", "test", 5),
        lambda: engine_store.add_authenticator("nobody", "test"),
        lambda: engine_store.put_key("nobody", "ab" * 16, bytes(24)),
    ):
        with pytest.raises(CustomerNotFound):
            operation()
    assert list(engine_store.list_customers()) == []


def test_wrapped_keys(engine: Engine, engine_store: AdminStore, acme: str) -> None:
    engine_store.put_key("acme", "ab" * 16, bytes(range(24)))
    assert engine.keys.wrapped_key("acme", "ab" * 16) == bytes(range(24))
    assert engine.keys.wrapped_key("acme", "cd" * 16) is None
    assert engine_store.delete_key("acme", "ab" * 16) is True
    assert engine_store.delete_key("acme", "ab" * 16) is False


def test_list_is_sorted_and_shows_no_hashes(engine_store: AdminStore, acme: str) -> None:
    engine_store.create_customer("beta", widevine=True, fairplay=True, limits={})
    summaries = [c.summary() for c in engine_store.list_customers()]
    assert [s["customerId"] for s in summaries] == ["acme", "beta"]
    assert summaries[0]["environments"]["test"] == {"tokensIssued": 0, "tokenLimit": 3, "liveAuthenticators": 1}
    assert acme.split(",")[1] not in str(summaries)
