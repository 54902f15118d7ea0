"""Shards never create allowance: the pure rules, then every charge and move interleaved with others (moto)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from drmtoken.adapters import aws
from drmtoken.adapters.dynamodb import DynamoAccounts
from drmtoken.adapters.items import allowance_of, issued_attr, limit_attr, shard_counts, shard_key, shard_of
from drmtoken.core.account import Authenticator
from drmtoken.core.allowance import Shard, plan_move, spread, used_up
from drmtoken.core.drm import Drm, profile
from drmtoken.core.errors import ApiError, DependencyError
from drmtoken_cli import admin_store
from drmtoken_cli.admin_store import AdminStore, CustomerNotFound
from tests.support.lambdas import policy_statements

WIDEVINE = profile(Drm.WIDEVINE)
LIMIT = 12


@pytest.mark.parametrize(
    ("limit", "issued", "active", "budgets"),
    [
        (100, [0] * 8, 8, [13, 13, 13, 13, 12, 12, 12, 12]),
        (10, [3, 0, 5], 2, [4, 1, 5]),  # the retired third keeps its count, with no room
        (4, [3, 2, 1], 3, [3, 1, 0]),  # below what is used: cut from the last, never below zero
        (None, [3, 2], 2, [None, None]),
    ],
)
def test_spread_keeps_every_count_and_sums_to_the_limit(
    limit: int | None, issued: list[int], active: int, budgets: list[int | None]
) -> None:
    assert spread(limit, issued, active) == budgets


def test_a_move_takes_half_a_donors_room_and_used_up_counts_against_the_whole_allowance() -> None:
    shards = [Shard(0, 5, 5), Shard(1, 1, 6), Shard(2, 2, 2)]
    move = plan_move(shards, to=0)
    assert move is not None and (move.donor, move.amount, move.donor_budget_after) == (1, 3, 3)
    assert plan_move([Shard(0, 5, 5), Shard(1, 2, 2)], to=0) is None
    assert not used_up(shards, 13) and used_up(shards, 8)
    # Budgets read while a move was under way (shard 1 already gave 3, shard 0 not yet got them): not used up.
    assert not used_up([Shard(0, 5, 5), Shard(1, 1, 3), Shard(2, 2, 2)], 13)
    assert not used_up([Shard(0, 9, None)], None)


class Interleaving:
    """A client that, before each call of the request under test, lets other requests and operators run whole."""

    def __init__(self, client: Any, seed: int, others: list[Callable[[], None]]) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.others = others

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self.client, name)

        def interleaved(**kwargs: Any) -> Any:
            for _ in range(self.rng.choice((0, 0, 1, 2))):
                self.rng.choice(self.others)()
            return operation(**kwargs)

        return interleaved


def totals(client: Any, table: str) -> tuple[int, int, list[tuple[int, int]]]:
    base = client.get_item(TableName=table, Key=shard_key("acme", 0), ConsistentRead=True)["Item"]
    shards = []
    for index in range(shard_counts(base)[1]):
        item = client.get_item(TableName=table, Key=shard_key("acme", index), ConsistentRead=True)["Item"]
        shards.append((int(item[issued_attr("test")]["N"]), int(item[limit_attr("test")]["N"])))
    return sum(i for i, _ in shards), sum(b for _, b in shards), shards


@pytest.mark.parametrize("seed", range(60))
def test_no_interleaving_of_charges_moves_and_operator_changes_creates_allowance(
    seed: int, dynamodb: Any, service_env: dict[str, str]
) -> None:
    """Requests race for the last tokens while an operator re-spreads the limit and changes the shard count."""
    random.seed(seed)  # the adapter's own picks (shard, donor) too: a failure replays
    client = aws.client("dynamodb")
    table = service_env["CUSTOMERS_TABLE"]
    store = AdminStore(client, table, service_env["CONTENT_KEYS_TABLE"])
    store.create_customer("acme", widevine=True, limits={"test": LIMIT})
    store.set_shards("acme", 4)
    secret = store.add_authenticator("acme", "test")
    authenticator = Authenticator("acme", secret)
    issued = {"count": 0}
    operator = random.Random(seed + 1000)

    def another_request() -> None:
        try:
            DynamoAccounts(client, table).charge(authenticator, "test", WIDEVINE, True, secrets.token_hex(16))
            issued["count"] += 1
        except ApiError as error:
            assert error.code == -2019

    def operator_respreads() -> None:
        store.set_limit("acme", "test", LIMIT)

    def operator_reshards() -> None:
        store.set_shards("acme", operator.choice((2, 3, 4, 6)))

    others = [another_request, another_request, operator_respreads, operator_reshards]
    watched = DynamoAccounts(Interleaving(client, seed, others), table)
    while True:
        watched._shard_counts.clear()  # a fresh function instance each time: it reads the shard count anew
        try:
            watched.charge(authenticator, "test", WIDEVINE, True, secrets.token_hex(16))
            issued["count"] += 1
        except ApiError as error:
            assert error.code == -2019
            break
    counted, budgets, shards = totals(client, table)
    assert budgets == LIMIT  # moves and re-spreads never made or lost allowance
    assert counted == issued["count"] == LIMIT  # every token counted once, and -2019 only when all were used
    assert all(count <= budget for count, budget in shards)


def soundness(client: Any, table: str, environment: str = "test") -> tuple[int, int, int | None]:
    """(counted, budgets, limit), asserting that no allowance exists beyond the limit.

    Budgets sum to the limit; while the limit covers what is counted every shard's count
    is within its budget, and below it no shard has room: so what can still be issued is
    exactly the limit less what is counted, or nothing.
    """
    base = client.get_item(TableName=table, Key=shard_key("acme", 0), ConsistentRead=True)["Item"]
    items = [base] + [
        client.get_item(TableName=table, Key=shard_key("acme", i), ConsistentRead=True)["Item"]
        for i in range(1, shard_counts(base)[1])
    ]
    shards = [shard_of(item, index, environment) for index, item in enumerate(items)]
    limit = allowance_of(base, environment) if len(items) > 1 else shards[0].budget
    counted, budgets = sum(s.issued for s in shards), sum(s.budget or 0 for s in shards)
    assert budgets == limit, (budgets, limit, shards)
    if counted <= limit:
        assert all(s.budget is not None and s.issued <= s.budget for s in shards), shards
    else:
        assert all(s.budget is not None and s.budget <= s.issued for s in shards), shards
    return counted, budgets, limit


@pytest.mark.parametrize("seed", range(60))
def test_no_operator_change_interleaved_with_charges_creates_allowance(
    seed: int, dynamodb: Any, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charges land between every call of set-limit (up, down, the same) and set-shards (up, down)."""
    random.seed(seed)
    monkeypatch.setattr(admin_store, "BACKOFF_SECONDS", 0.0)  # interleaved, not timed: no waiting between attempts
    client = aws.client("dynamodb")
    table = service_env["CUSTOMERS_TABLE"]
    store = AdminStore(client, table, service_env["CONTENT_KEYS_TABLE"])
    store.create_customer("acme", widevine=True, limits={"test": LIMIT})
    store.set_shards("acme", 4)
    authenticator = Authenticator("acme", store.add_authenticator("acme", "test"))
    issued = {"count": 0}
    gate = DynamoAccounts(client, table)

    def another_request() -> None:
        soundness(client, table)  # at every point between two calls, not only at the end
        try:
            gate.charge(authenticator, "test", WIDEVINE, True, secrets.token_hex(16))
            issued["count"] += 1
        except ApiError as error:
            assert error.code == -2019

    operator = AdminStore(Interleaving(client, seed, [another_request]), table, service_env["CONTENT_KEYS_TABLE"])
    changes = random.Random(seed + 2000)
    for _ in range(6):
        if changes.random() < 0.6:
            operator.set_limit("acme", "test", changes.choice((LIMIT - 4, LIMIT, LIMIT, LIMIT + 4)))
        else:
            operator.set_shards("acme", changes.choice((1, 2, 4, 6)))
        soundness(client, table)
    counted, _, limit = soundness(client, table)
    assert limit is not None
    while True:  # what is left is issued, and not one more, by fresh function instances
        gate._shard_counts.clear()
        gate._spent.clear()  # a warm one may refuse for 1 s after it saw the allowance used up
        try:
            gate.charge(authenticator, "test", WIDEVINE, True, secrets.token_hex(16))
            issued["count"] += 1
        except ApiError as error:
            assert error.code == -2019
            break
    assert soundness(client, table)[0] == issued["count"] == max(limit, counted)


# What each call needs in IAM: a transaction needs the permission of each of its operations (all Updates here).
IAM_ACTION = {
    "GetItem": "dynamodb:GetItem",
    "BatchGetItem": "dynamodb:BatchGetItem",
    "TransactWriteItems": "dynamodb:UpdateItem",
}


def test_the_token_functions_role_allows_every_call_of_a_sharded_charge(
    dynamodb: Any, service_env: dict[str, str], dynamodb_calls: list[str]
) -> None:
    """moto does not enforce IAM: the calls made down to -2019 are checked against the template's policy."""
    table = service_env["CUSTOMERS_TABLE"]
    store = AdminStore(dynamodb, table, service_env["CONTENT_KEYS_TABLE"])
    store.create_customer("acme", widevine=True, limits={"test": 6})
    store.set_shards("acme", 4)
    authenticator = Authenticator("acme", store.add_authenticator("acme", "test"))
    dynamodb_calls.clear()
    accounts = DynamoAccounts(dynamodb, table)
    with pytest.raises(ApiError):
        while True:
            accounts.charge(authenticator, "test", WIDEVINE, True, secrets.token_hex(16))
    assert "BatchGetItem" in dynamodb_calls  # the path of a spent shard was taken
    granted = {
        action
        for statement in policy_statements("WidevineFunction")
        if statement["Resource"] == {"Fn::GetAtt": ["CustomersTable", "Arn"]}
        for action in statement["Action"]
    }
    assert {IAM_ACTION[call] for call in dynamodb_calls} <= granted


def test_an_operator_change_for_no_customer_whose_reads_all_fail_creates_nothing(
    dynamodb: Any, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step moves the version on; for a customer that is not there it must not make an item."""
    table = service_env["CUSTOMERS_TABLE"]
    store = AdminStore(dynamodb, table, service_env["CONTENT_KEYS_TABLE"])
    monkeypatch.setattr(admin_store, "BACKOFF_SECONDS", 0.0)

    def unreachable(customer_id: str) -> list[dict[str, Any]]:
        raise DependencyError("BatchGetItem failed: ReadTimeoutError")

    monkeypatch.setattr(store, "_shard_items", unreachable)  # every attempt's read is lost
    with pytest.raises(CustomerNotFound):
        store.set_limit("ghost", "test", 10)
    assert dynamodb.scan(TableName=table)["Items"] == []
