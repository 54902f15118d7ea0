"""The customer store's rules, run on moto and on the real engine (DynamoDB Local) alike."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from moto import mock_aws

from drmtoken import aws
from drmtoken.errors import ApiError
from drmtoken.params import Authenticator, Drm
from drmtoken.store import AuthenticatorNotFound, CustomerExists, CustomerNotFound, CustomerStore
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.integration


@pytest.fixture(params=["moto", "dynamodb-local"])
def engine_store(request: pytest.FixtureRequest, service_env: dict[str, str]) -> Iterator[CustomerStore]:
    if request.param == "moto":
        with mock_aws():
            client = aws.client("dynamodb")
            for arguments in TEMPLATE.tables().values():
                client.create_table(**arguments)
            yield CustomerStore(client, service_env["CUSTOMERS_TABLE"], service_env["CONTENT_KEYS_TABLE"])
    else:
        yield request.getfixturevalue("local_store")


def charge(store: CustomerStore, authenticator: str, drm: Drm = Drm.WIDEVINE, enabled: bool = True) -> int:
    """0 when a token was counted, else the refusal code."""
    customer_id, secret = authenticator.split(",")
    try:
        store.charge_token(Authenticator(customer_id, secret), "test", drm, enabled, secrets.token_hex(16))
    except ApiError as error:
        return error.code
    return 0


@pytest.fixture
def acme(engine_store: CustomerStore) -> str:
    engine_store.create_customer("acme", widevine=True, fairplay=False, limits={"test": 3})
    return "acme," + engine_store.add_authenticator("acme", "test")


def test_create_twice_fails_and_changes_nothing(engine_store: CustomerStore, acme: str) -> None:
    with pytest.raises(CustomerExists):
        engine_store.create_customer("acme", widevine=False, fairplay=True, limits={})
    customer = engine_store.get_customer("acme")
    assert customer.entitlements == {"widevine": True, "fairplay": False}
    assert customer.limits == {"test": 3, "prod": None}
    assert len(customer.authenticator_hashes["test"]) == 1


def test_charge_counts_up_to_the_limit_exactly(engine_store: CustomerStore, acme: str) -> None:
    assert [charge(engine_store, acme) for _ in range(5)] == [0, 0, 0, -2019, -2019]
    assert engine_store.get_customer("acme").issued == {"test": 3, "prod": 0}


def test_refusals_in_spec_order_count_nothing(engine_store: CustomerStore, acme: str) -> None:
    secret = acme.split(",")[1]
    assert charge(engine_store, "acme," + "0" * 32) == -2018
    assert charge(engine_store, "ghost," + secret) == -2018
    assert charge(engine_store, acme, Drm.FAIRPLAY) == -6006
    assert charge(engine_store, acme, Drm.WIDEVINE, enabled=False) == -7011
    engine_store.set_entitlement("acme", Drm.FAIRPLAY, True)
    assert charge(engine_store, acme, Drm.FAIRPLAY, enabled=False) == -6009
    engine_store.set_status("acme", active=False)
    assert charge(engine_store, acme) == -2031
    assert charge(engine_store, "acme," + "0" * 32) == -2018  # authentication is checked first
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_authenticator_of_the_other_environment_is_refused(engine_store: CustomerStore, acme: str) -> None:
    prod = engine_store.add_authenticator("acme", "prod")
    assert charge(engine_store, "acme," + prod) == -2018


def test_several_live_authenticators_and_revocation(engine_store: CustomerStore, acme: str) -> None:
    second = "acme," + engine_store.add_authenticator("acme", "test")
    assert charge(engine_store, acme) == 0 and charge(engine_store, second) == 0
    assert engine_store.revoke_authenticator("acme", acme.split(",")[1].upper()) == "test"
    assert charge(engine_store, acme) == -2018
    assert charge(engine_store, second) == 0
    engine_store.revoke_authenticator("acme", second.split(",")[1])
    assert engine_store.get_customer("acme").authenticator_hashes["test"] == set()
    with pytest.raises(AuthenticatorNotFound):
        engine_store.revoke_authenticator("acme", second.split(",")[1])


def test_limits_can_be_raised_and_removed(engine_store: CustomerStore, acme: str) -> None:
    engine_store.set_limit("acme", "test", 1)
    assert [charge(engine_store, acme) for _ in range(2)] == [0, -2019]
    engine_store.set_limit("acme", "test", None)
    assert charge(engine_store, acme) == 0
    assert engine_store.get_customer("acme").limits["test"] is None


def test_refund_gives_back_one_token(engine_store: CustomerStore, acme: str) -> None:
    assert charge(engine_store, acme) == 0
    engine_store.refund_token("acme", "test", "request-1")
    engine_store.refund_token("acme", "test", "request-2")  # never below zero
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_unknown_customer_and_account_refusals_read_without_counting(engine_store: CustomerStore, acme: str) -> None:
    customer_id, secret = acme.split(",")
    refusal = engine_store.account_refusal
    assert refusal(Authenticator("ghost", secret), "test", Drm.WIDEVINE, True) == -2018
    assert refusal(Authenticator(customer_id, "0" * 32), "test", Drm.WIDEVINE, True) == -2018
    assert refusal(Authenticator(customer_id, secret), "test", Drm.FAIRPLAY, True) == -6006
    assert refusal(Authenticator(customer_id, secret), "test", Drm.WIDEVINE, True) is None
    assert engine_store.get_customer("acme").issued["test"] == 0


def test_item_without_a_counter_still_honours_its_limit(engine_store: CustomerStore) -> None:
    """An item written by hand, without tokensIssued_test: the limit still holds."""
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
    assert [charge(engine_store, authenticator) for _ in range(2)] == [0, -2019]


def test_operations_on_a_missing_customer(engine_store: CustomerStore) -> None:
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


def test_wrapped_keys(engine_store: CustomerStore, acme: str) -> None:
    engine_store.put_key("acme", "ab" * 16, bytes(range(24)))
    assert engine_store.get_wrapped_key("acme", "ab" * 16) == bytes(range(24))
    assert engine_store.get_wrapped_key("acme", "cd" * 16) is None
    assert engine_store.delete_key("acme", "ab" * 16) is True
    assert engine_store.delete_key("acme", "ab" * 16) is False


def test_list_is_sorted_and_shows_no_hashes(engine_store: CustomerStore, acme: str) -> None:
    engine_store.create_customer("beta", widevine=True, fairplay=True, limits={})
    summaries = [c.summary() for c in engine_store.list_customers()]
    assert [s["customerId"] for s in summaries] == ["acme", "beta"]
    assert summaries[0]["environments"]["test"] == {"tokensIssued": 0, "tokenLimit": 3, "liveAuthenticators": 1}
    assert acme.split(",")[1] not in str(summaries)
