"""A customer's allowance split over shard items: exact on moto and on DynamoDB Local, one total for operators."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from drmtoken.adapters import aws
from drmtoken.adapters.dynamodb import DynamoAccounts
from drmtoken.adapters.items import issued_attr, limit_attr, shard_key
from drmtoken.core.account import Authenticator
from drmtoken.core.drm import Drm, profile
from drmtoken.core.errors import ApiError
from drmtoken_cli.admin_store import AdminStore, CustomerExists, CustomerNotFound
from tests.support.cli import drmtoken
from tests.support.faults import AnswerDropper
from tests.support.lambdas import TEMPLATE, tokens_in_parallel

pytestmark = pytest.mark.integration
WIDEVINE = profile(Drm.WIDEVINE)


@pytest.fixture(params=["moto", "dynamodb-local"])
def client(request: pytest.FixtureRequest, service_env: dict[str, str]) -> Iterator[Any]:
    if request.param == "moto":
        with mock_aws():
            client = aws.client("dynamodb")
            for arguments in TEMPLATE.tables().values():
                client.create_table(**{k: v for k, v in arguments.items() if k != "TimeToLiveSpecification"})
            yield client
    else:
        request.getfixturevalue("local_env")
        yield aws.client("dynamodb")


@pytest.fixture
def store(client: Any, service_env: dict[str, str]) -> AdminStore:
    return AdminStore(client, service_env["CUSTOMERS_TABLE"], service_env["CONTENT_KEYS_TABLE"])


def accounts(client: Any, service_env: dict[str, str]) -> DynamoAccounts:
    """A fresh function instance: it reads the shard count anew."""
    return DynamoAccounts(client, service_env["CUSTOMERS_TABLE"])


def charge(gate: DynamoAccounts, authenticator: str) -> int:
    """The shard charged, or the refusal code (negative)."""
    customer_id, secret = authenticator.split(",")
    try:
        return gate.charge(Authenticator(customer_id, secret), "test", WIDEVINE, True, secrets.token_hex(16))
    except ApiError as error:
        return error.code


def shard_values(client: Any, table: str, customer_id: str, count: int) -> list[tuple[int, int | None]]:
    """(count, budget) of each shard item in the test environment, as stored."""
    values = []
    for index in range(count):
        item = client.get_item(TableName=table, Key=shard_key(customer_id, index), ConsistentRead=True)["Item"]
        budget = item.get(limit_attr("test"))
        values.append((int(item[issued_attr("test")]["N"]), int(budget["N"]) if budget else None))
    return values


def customer(store: AdminStore, limit: int | None, shards: int) -> str:
    store.create_customer("acme", widevine=True, limits={} if limit is None else {"test": limit})
    store.set_shards("acme", shards)
    return "acme," + store.add_authenticator("acme", "test")


def test_budgets_sum_to_the_limit_and_show_reports_one_total(store: AdminStore, client: Any) -> None:
    customer(store, 100, 8)
    values = shard_values(client, store.customers_table, "acme", 8)
    assert sum(budget or 0 for _, budget in values) == 100
    assert max(budget or 0 for _, budget in values) - min(budget or 0 for _, budget in values) <= 1  # spread evenly
    summary = store.get_customer("acme").summary()
    assert summary["shards"] == 8
    assert summary["environments"]["test"] == {"tokensIssued": 0, "tokenLimit": 100, "liveAuthenticators": 1}
    assert [account.customer_id for account in store.list_customers()] == ["acme"]  # shard items are not customers


def test_the_whole_allowance_is_issued_and_not_one_more(
    store: AdminStore, client: Any, service_env: dict[str, str]
) -> None:
    authenticator = customer(store, 20, 8)
    gate = accounts(client, service_env)
    shards = [charge(gate, authenticator) for _ in range(20)]
    assert all(shard >= 0 for shard in shards)  # spent shards took budget from the others
    assert len(set(shards)) > 1
    assert charge(gate, authenticator) == -2019
    values = shard_values(client, store.customers_table, "acme", 8)
    assert sum(budget or 0 for _, budget in values) == 20  # moves never made allowance
    assert all(issued <= (budget or 0) for issued, budget in values)
    assert store.get_customer("acme").issued["test"] == 20


def test_an_unlimited_customer_spreads_its_count(store: AdminStore, client: Any, service_env: dict[str, str]) -> None:
    authenticator = customer(store, None, 4)
    gate = accounts(client, service_env)
    shards = [charge(gate, authenticator) for _ in range(40)]
    assert min(shards) >= 0 and len(set(shards)) == 4
    assert store.get_customer("acme").summary()["environments"]["test"]["tokensIssued"] == 40
    assert store.get_customer("acme").limits["test"] is None


def test_operator_changes_reach_every_shard_at_once(
    store: AdminStore, client: Any, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    authenticator = customer(store, None, 8)
    later = "acme," + store.add_authenticator("acme", "test")
    gate = accounts(client, service_env)
    shards = itertools.cycle(range(8))  # every shard in turn, not 40 random picks that miss one in 25 runs
    monkeypatch.setattr("drmtoken.adapters.dynamodb.random.randrange", lambda count: next(shards) % count)
    assert [charge(gate, later) for _ in range(8)] == list(range(8))  # the new secret works on every shard
    store.revoke_authenticator("acme", authenticator.split(",")[1])
    assert {charge(gate, authenticator) for _ in range(20)} == {-2018}
    store.set_status("acme", active=False)
    assert {charge(gate, later) for _ in range(20)} == {-2031}
    store.set_status("acme", active=True)
    store.set_entitlement("acme", Drm.WIDEVINE, False)
    assert {charge(gate, later) for _ in range(20)} == {WIDEVINE.not_entitled}


def test_a_new_limit_is_spread_over_the_counts(store: AdminStore, client: Any, service_env: dict[str, str]) -> None:
    authenticator = customer(store, None, 4)
    gate = accounts(client, service_env)
    for _ in range(12):
        assert charge(gate, authenticator) >= 0
    store.set_limit("acme", "test", 15)
    values = shard_values(client, store.customers_table, "acme", 4)
    assert sum(budget or 0 for _, budget in values) == 15 and all(i <= (b or 0) for i, b in values)
    assert [charge(gate, authenticator) >= 0 for _ in range(4)] == [True, True, True, False]
    store.set_limit("acme", "test", 5)  # below what was used: nothing more, and show says 5
    assert charge(gate, authenticator) == -2019
    assert store.get_customer("acme").summary()["environments"]["test"] == {
        "tokensIssued": 15,
        "tokenLimit": 5,
        "liveAuthenticators": 1,
    }


def test_fewer_shards_retire_the_last_ones_and_keep_their_counts(
    store: AdminStore, client: Any, service_env: dict[str, str]
) -> None:
    authenticator = customer(store, 60, 8)
    gate = accounts(client, service_env)
    for _ in range(30):
        assert charge(gate, authenticator) >= 0
    store.set_shards("acme", 2)
    before = shard_values(client, store.customers_table, "acme", 8)
    assert sum(issued for issued, _ in before) == 30 and sum(b or 0 for _, b in before) == 60
    assert all(issued == budget for issued, budget in before[2:])  # retired: no room left on them
    fresh = accounts(client, service_env)
    assert {charge(fresh, authenticator) for _ in range(30)} <= {0, 1}
    assert charge(fresh, authenticator) == -2019
    after = shard_values(client, store.customers_table, "acme", 8)
    assert after[2:] == before[2:]
    store.set_shards("acme", 8)  # and back: the items are reused, nothing is counted twice
    assert store.get_customer("acme").summary()["environments"]["test"]["tokensIssued"] == 60


def test_a_refund_returns_to_the_shard_it_was_taken_from(
    store: AdminStore, client: Any, service_env: dict[str, str]
) -> None:
    authenticator = customer(store, 8, 4)
    gate = accounts(client, service_env)
    request = secrets.token_hex(16)
    customer_id, secret = authenticator.split(",")
    shard = gate.charge(Authenticator(customer_id, secret), "test", WIDEVINE, True, request)
    gate.refund("acme", "test", request, shard)
    assert [issued for issued, _ in shard_values(client, store.customers_table, "acme", 4)] == [0, 0, 0, 0]


def test_shard_counts_out_of_range_change_nothing(store: AdminStore) -> None:
    customer(store, 10, 1)
    for bad in (0, 101):
        with pytest.raises(ValueError, match="1 to 100 shards"):
            store.set_shards("acme", bad)
    with pytest.raises(CustomerNotFound):
        store.set_shards("nobody", 4)
    assert store.get_customer("acme").shards == 1


def test_300_parallel_requests_with_8_shards_issue_exactly_the_limit(local_store: AdminStore) -> None:
    outcomes = tokens_in_parallel(customer(local_store, 100, 8), 300)
    assert outcomes.count(0) == 100, {code: outcomes.count(code) for code in set(outcomes)}
    assert outcomes.count(-2019) == 200
    assert local_store.get_customer("acme").issued["test"] == 100


def test_the_command_sets_and_shows_shards(local_store: AdminStore, local_env: dict[str, str]) -> None:
    local_store.create_customer("acme", widevine=True, limits={"test": 64})
    env = {"AWS_ENDPOINT_URL_DYNAMODB": local_env["AWS_ENDPOINT_URL_DYNAMODB"]}
    assert drmtoken("customers", "set-shards", "acme", "16", env=env).returncode == 0
    shown = json.loads(drmtoken("customers", "show", "acme", env=env).stdout)
    assert shown["shards"] == 16 and shown["environments"]["test"]["tokenLimit"] == 64
    refused = drmtoken("customers", "set-shards", "acme", "101", env=env, check=False)
    assert refused.returncode == 2 and "1 to 100 shards" in refused.stderr


def test_set_limit_held_past_botocores_retries_while_the_last_tokens_drain_issues_exactly_the_limit(
    local_store: AdminStore, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's case: 90 of 100 issued over 8 shards, then the same limit set while its writes are held 4 s."""
    authenticator = customer(local_store, 100, 8)
    assert tokens_in_parallel(authenticator, 90).count(0) == 90
    table = local_env["CUSTOMERS_TABLE"]
    version = int(local_store.accounts.own_item("acme")["operatorVersion"]["N"])  # type: ignore[index]
    drained: list[int] = []

    def drain() -> None:
        gate = accounts(aws.client("dynamodb"), local_env)
        while (outcome := charge(gate, authenticator)) >= 0:
            drained.append(outcome)

    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("TransactWriteItems",), count=3, hold=4) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        operator = AdminStore(aws.client("dynamodb"), table, local_env["CONTENT_KEYS_TABLE"])
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", local_env["AWS_ENDPOINT_URL_DYNAMODB"])
        drainers = [threading.Thread(target=drain) for _ in range(6)]
        for thread in drainers:
            thread.start()
        operator.set_limit("acme", "test", 100)  # every try of its first attempt times out; it lands 4 s late
        for thread in drainers:
            thread.join()
        time.sleep(4.5)  # every held write has reached the engine, and landed or failed
    assert proxy.dropped == 3
    drain()  # a fresh instance takes whatever is left
    assert 90 + len(drained) == local_store.get_customer("acme").issued["test"] == 100
    values = shard_values(aws.client("dynamodb"), table, "acme", 8)
    assert sum(budget or 0 for _, budget in values) == 100 and all(c <= (b or 0) for c, b in values)
    after = int(local_store.accounts.own_item("acme")["operatorVersion"]["N"])  # type: ignore[index]
    assert after == version + 1  # it said it landed: exactly one of its attempts did


def test_create_whose_answer_is_lost_says_it_created_the_customer(
    local_store: AdminStore, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore sends the put again; the customer found is this command's own, not 'already exists'."""
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("PutItem",), count=1) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        operator = AdminStore(aws.client("dynamodb"), local_env["CUSTOMERS_TABLE"], local_env["CONTENT_KEYS_TABLE"])
        operator.create_customer("acme", widevine=True)
    assert proxy.dropped == 1 and local_store.get_customer("acme").status == "active"
    with pytest.raises(CustomerExists):  # another command's create still is refused
        local_store.create_customer("acme", widevine=True)
