"""What operators do to the tables (the `drmtoken` command): customers, authenticators, limits, keys.

It writes the same items the functions read, through the one definition in
``drmtoken.adapters.items``. The functions' roles may not make these calls; an
operator runs them with their own AWS credentials.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from drmtoken.adapters.dynamodb import DynamoAccounts, call, conditional_write, transact
from drmtoken.adapters.items import (
    CREATED_AT,
    CUSTOMER_ID,
    ENTITLEMENTS,
    KID,
    LAST_CHANGE,
    OPERATOR_VERSION,
    SHARD_ITEMS,
    SHARDS,
    STATUS,
    STORED_AT,
    WRAPPED_KEY,
    account_from_shards,
    allowance_attr,
    content_key_key,
    hashes_attr,
    issued_attr,
    limit_attr,
    shard_counts,
    shard_key,
    shard_of,
)
from drmtoken.core.account import ACTIVE, DISABLED, ENVIRONMENTS, Account, hash_secret
from drmtoken.core.allowance import SHARD_SEPARATOR, check_shard_count, shard_item_id, spread
from drmtoken.core.drm import PROFILES, Drm
from drmtoken.core.errors import DependencyError


class CustomerExists(Exception):
    pass


class CustomerNotFound(Exception):
    pass


class AuthenticatorNotFound(Exception):
    pass


class ChangeNotMade(Exception):
    """An operator's change that did not land, and now never will: nothing was changed."""


class ChangeUnknown(Exception):
    """DynamoDB never answered: the change may have landed or not (reading the customer tells)."""


# Attributes a shard item copies from the customer's own item: what the one conditional write checks.
SHARED_ATTRIBUTES = (STATUS, ENTITLEMENTS, CREATED_AT, *(hashes_attr(e) for e in ENVIRONMENTS))
# An operator's transaction over every shard is made again from a fresh read when charges moved a
# count it depends on, or its answer was lost; with back-off, these attempts span about 10 s.
OPERATOR_ATTEMPTS = 12
BACKOFF_SECONDS = 0.05


class AdminStore:
    """Every change to a customer writes all its shard items in one transaction (docs/data-model.md)."""

    def __init__(self, client: Any, customers_table: str, content_keys_table: str) -> None:
        self.client = client
        self.customers_table = customers_table
        self.content_keys_table = content_keys_table
        self.accounts = DynamoAccounts(client, customers_table)

    def create_customer(self, customer_id: str, limits: dict[str, int] | None = None, **entitled: bool) -> None:
        """A new active customer; ``entitled`` by entitlement name (``widevine=True``), absent ones False.

        The item carries this command's change token, so a put whose answer was lost (and
        that botocore, or this loop, sent again) is recognised as this command's own.
        """
        names = {row.entitlement for row in PROFILES.values()}
        if unknown := set(entitled) - names:
            raise ValueError(f"no DRM is entitled as {sorted(unknown)}; there are {sorted(names)}")
        token = secrets.token_hex(16)
        item: dict[str, Any] = {
            CUSTOMER_ID: {"S": customer_id},
            STATUS: {"S": ACTIVE},
            ENTITLEMENTS: {"M": {name: {"BOOL": entitled.get(name, False)} for name in sorted(names)}},
            CREATED_AT: {"N": str(int(time.time()))},
            OPERATOR_VERSION: {"N": "1"},
            LAST_CHANGE: {"S": token},
        }
        for environment in ENVIRONMENTS:
            item[issued_attr(environment)] = {"N": "0"}
        for environment, limit in (limits or {}).items():
            item[limit_attr(environment)] = {"N": str(limit)}
        for attempt in range(OPERATOR_ATTEMPTS):
            back_off(attempt)
            try:
                refused = conditional_write(
                    self.client,
                    "put_item",
                    TableName=self.customers_table,
                    Item=item,
                    ConditionExpression=f"attribute_not_exists({CUSTOMER_ID})",
                )
                if refused is None:
                    return
                found = self.accounts.own_item(customer_id) or {}
            except DependencyError:
                continue  # sent again: the item that is there then tells whose it is
            if landed(found, [token]):
                return  # an earlier try of this command landed
            raise CustomerExists(customer_id)
        raise ChangeUnknown(f"DynamoDB did not answer; `customers show {customer_id}` tells whether it was made")

    def get_customer(self, customer_id: str) -> Account:
        """The customer with its counts and limits summed over its shards."""
        return account_from_shards(self._shard_items(customer_id))

    def list_customers(self) -> Iterator[Account]:
        kwargs: dict[str, Any] = {"TableName": self.customers_table}
        by_id: dict[str, dict[str, Any]] = {}
        while True:
            page = call(self.client, "scan", **kwargs)
            by_id.update({item[CUSTOMER_ID]["S"]: item for item in page.get("Items", [])})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for customer_id in sorted(i for i in by_id if SHARD_SEPARATOR not in i):
            count = shard_counts(by_id[customer_id])[1]
            yield account_from_shards([by_id[shard_item_id(customer_id, index)] for index in range(count)])

    def set_status(self, customer_id: str, active: bool) -> None:
        self._update_existing(
            customer_id,
            "SET #status = :status",
            {"#status": STATUS},
            {":status": {"S": ACTIVE if active else DISABLED}},
        )

    def set_entitlement(self, customer_id: str, drm: Drm, entitled: bool) -> None:
        self._update_existing(
            customer_id,
            "SET #ent.#drm = :value",
            {"#ent": ENTITLEMENTS, "#drm": PROFILES[drm].entitlement},
            {":value": {"BOOL": entitled}},
        )

    def set_limit(self, customer_id: str, environment: str, limit: int | None) -> None:
        """Split ``limit`` over the shards as budgets that sum to it (``core.allowance.spread``).

        Each budget is written only if it still covers its shard's count: a charge landing
        between the read and the write makes the change be made again on the new counts.
        """

        def writes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            counts = [shard_of(item, index, environment).issued for index, item in enumerate(items)]
            budgets = spread(limit, counts, active(items))
            guarded = covers_counts(limit, counts)
            return [
                self._shard_write(
                    customer_id,
                    index,
                    limit_attributes(environment, budget, limit),
                    {issued_attr(environment): budget} if guarded and budget is not None else {},
                )
                for index, budget in enumerate(budgets)
            ]

        self._transact_over_shards(customer_id, writes)

    def set_shards(self, customer_id: str, shards: int) -> None:
        """Charge ``shards`` shard items from now on (within a minute, as functions read it again).

        New shard items copy the customer's checks; the room of each limited environment is
        spread over the active shards, so the budgets still sum to the limit. Fewer shards
        retire the last ones (they keep their counts, with no room), never delete them.
        Each budget is written only if it still covers its shard's count, as in ``set_limit``.
        """
        check_shard_count(shards)

        def writes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            total = max(len(items), shards)
            account = account_from_shards(items)
            counts = {e: [shard_of(item, i, e).issued for i, item in enumerate(items)] for e in ENVIRONMENTS}
            budgets = {
                e: spread(account.limits[e], counts[e] + [0] * (total - len(items)), shards) for e in ENVIRONMENTS
            }
            guarded = [e for e in ENVIRONMENTS if covers_counts(account.limits[e], counts[e])]

            def attributes(index: int) -> dict[str, Any]:
                limits = [limit_attributes(e, budgets[e][index], account.limits[e]) for e in ENVIRONMENTS]
                return {SHARDS: shards, SHARD_ITEMS: total, **{k: v for pair in limits for k, v in pair.items()}}

            def covered(index: int) -> dict[str, int]:
                return {issued_attr(e): budget for e in guarded if (budget := budgets[e][index]) is not None}

            shared = {name: items[0][name] for name in SHARED_ATTRIBUTES if name in items[0]}
            found = [self._shard_write(customer_id, i, attributes(i), covered(i)) for i in range(len(items))]
            made = [
                self._new_shard(customer_id, index, {**shared, **attributes(index)})
                for index in range(len(items), total)
            ]
            return found + made

        self._transact_over_shards(customer_id, writes)

    def add_authenticator(self, customer_id: str, environment: str, secret: str | None = None) -> str:
        """Make an authenticator live and return its secret: the only time it exists in clear.

        ``secret`` is for fixtures with a known value (the demo customer, event files).
        """
        secret = secret or secrets.token_hex(16)
        self._update_existing(
            customer_id,
            "ADD #hashes :hash",
            {"#hashes": hashes_attr(environment)},
            {":hash": {"SS": [hash_secret(secret)]}},
        )
        return secret

    def revoke_authenticator(self, customer_id: str, secret: str) -> str:
        """Remove a live authenticator; returns the environment it belonged to."""
        secret_hash = hash_secret(secret)
        for environment, hashes in self.get_customer(customer_id).authenticator_hashes.items():
            if secret_hash in hashes:
                self._update_existing(
                    customer_id,
                    "DELETE #hashes :hash",
                    {"#hashes": hashes_attr(environment)},
                    {":hash": {"SS": [secret_hash]}},
                )
                return environment
        raise AuthenticatorNotFound(customer_id)

    def put_key(self, customer_id: str, kid: str, wrapped_key: bytes) -> None:
        self.get_customer(customer_id)
        call(
            self.client,
            "put_item",
            TableName=self.content_keys_table,
            Item={
                CUSTOMER_ID: {"S": customer_id},
                KID: {"S": kid},
                WRAPPED_KEY: {"B": wrapped_key},
                STORED_AT: {"N": str(int(time.time()))},
            },
        )

    def delete_key(self, customer_id: str, kid: str) -> bool:
        result = call(
            self.client,
            "delete_item",
            TableName=self.content_keys_table,
            Key=content_key_key(customer_id, kid),
            ReturnValues="ALL_OLD",
        )
        return bool(result.get("Attributes"))

    def _update_existing(
        self, customer_id: str, expression: str, names: dict[str, str], values: dict[str, Any] | None
    ) -> None:
        """The same update on every shard item, in one transaction."""
        self._transact_over_shards(
            customer_id,
            lambda items: [self._update(customer_id, index, expression, names, values) for index in range(len(items))],
        )

    def _update(
        self, customer_id: str, index: int, expression: str, names: dict[str, str], values: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A transaction's update of one shard item that must exist."""
        update: dict[str, Any] = {
            "TableName": self.customers_table,
            "Key": shard_key(customer_id, index),
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists({CUSTOMER_ID})",
            "ExpressionAttributeNames": names,
        }
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}

    def _shard_items(self, customer_id: str) -> list[dict[str, Any]]:
        items = self.accounts.shard_items(customer_id)
        if not items:
            raise CustomerNotFound(customer_id)
        return items

    def _transact_over_shards(
        self, customer_id: str, writes: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    ) -> None:
        """Read the shard items, write what ``writes`` makes of them in one transaction, and know it landed.

        The customer's own item requires the operator version read and the number of shard
        items read, and records this attempt's token (``fence``). A failed condition (a
        charge moved a count a budget must cover, another change landed) or a lost answer
        makes the change again from a fresh read; that read also shows whether an earlier
        attempt of this command landed after all. Only one attempt can land: each requires
        the version before it, and landing moves it on.
        """
        tokens: list[str] = []
        for attempt in range(OPERATOR_ATTEMPTS):
            back_off(attempt)
            try:
                items = self._shard_items(customer_id)
                if landed(items[0], tokens):
                    return  # an attempt whose answer was lost had landed
                token = secrets.token_hex(16)
                tokens.append(token)
                transaction = writes(items)
                fence(transaction[0]["Update"], items[0], len(items), token)
                if transact(self.client, transaction, token) is None:
                    return
            except DependencyError:
                continue  # no answer: the next read tells what landed
        self._close(customer_id, tokens)

    def _close(self, customer_id: str, tokens: list[str]) -> None:
        """After the last attempt: landed (return), or made sure it never will (ChangeNotMade).

        Moving the version on is what makes sure: every attempt still in flight requires an
        older one. When DynamoDB answers none of this, the truth cannot be known here.
        """
        for attempt in range(3):
            back_off(attempt + 1)
            try:
                base = self.accounts.own_item(customer_id)
                if base is None:  # never there, and the update below would make an item of it
                    raise CustomerNotFound(customer_id)
                if landed(base, tokens):
                    return
                seen = version_of(base)
                condition, values = version_check(seen)
                conditional_write(
                    self.client,
                    "update_item",
                    TableName=self.customers_table,
                    Key=shard_key(customer_id, 0),
                    UpdateExpression="ADD #version :one",
                    ConditionExpression=f"attribute_exists(#id) AND {condition}",
                    ExpressionAttributeNames={"#version": OPERATOR_VERSION, "#id": CUSTOMER_ID},
                    ExpressionAttributeValues={":one": {"N": "1"}, **values},
                )
                base = self.accounts.own_item(customer_id) or {}
                if landed(base, tokens):
                    return
                if version_of(base) > seen:
                    raise ChangeNotMade(
                        f"{customer_id}: charges kept moving the counts or DynamoDB kept losing answers"
                        f" through {len(tokens)} attempts; nothing was changed, run it again"
                    )
            except DependencyError:
                continue
        raise ChangeUnknown(
            f"DynamoDB did not answer; the change to {customer_id} may or may not have been made:"
            f" `customers show {customer_id}` tells, and running the command again is safe"
        )

    def _shard_write(
        self, customer_id: str, index: int, attributes: dict[str, Any], covers: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """Set ``attributes`` on one existing shard item: a whole number, an attribute value, or None to remove.

        ``covers``: counts (attribute name -> budget) that must still be at most the budget written.
        """
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        sets, removes, bound = [], [], {}
        for i, value in enumerate(attributes.values()):
            if value is None:
                removes.append(f"#a{i}")
            else:
                sets.append(f"#a{i} = :a{i}")
                bound[f":a{i}"] = {"N": str(value)} if isinstance(value, int) else value
        expression = " ".join(
            part for part in (sets and "SET " + ", ".join(sets), removes and "REMOVE " + ", ".join(removes)) if part
        )
        update = self._update(customer_id, index, expression, names, bound)
        for i, (count, budget) in enumerate((covers or {}).items()):
            inner = update["Update"]
            inner["ConditionExpression"] += f" AND #c{i} <= :c{i}"
            inner["ExpressionAttributeNames"][f"#c{i}"] = count
            inner.setdefault("ExpressionAttributeValues", {})[f":c{i}"] = {"N": str(budget)}
        return update

    def _new_shard(self, customer_id: str, index: int, attributes: dict[str, Any]) -> dict[str, Any]:
        """A new shard item with ``attributes`` (None left out) and nothing counted yet."""
        item = {**shard_key(customer_id, index), **{issued_attr(e): {"N": "0"} for e in ENVIRONMENTS}}
        for name, value in attributes.items():
            if value is not None:
                item[name] = {"N": str(value)} if isinstance(value, int) else value
        return {
            "Put": {
                "TableName": self.customers_table,
                "Item": item,
                "ConditionExpression": f"attribute_not_exists({CUSTOMER_ID})",
            }
        }


def limit_attributes(environment: str, budget: int | None, limit: int | None) -> dict[str, int | None]:
    """A shard's budget and the whole allowance, as attributes (None: unlimited, removed)."""
    return {limit_attr(environment): budget, allowance_attr(environment): limit}


def active(items: list[dict[str, Any]]) -> int:
    """How many of the shard items requests charge."""
    return shard_counts(items[0])[0]


def covers_counts(limit: int | None, counts: list[int]) -> bool:
    """Whether the budgets written must each cover their shard's count when they land.

    They must while the limit covers what is counted: a shard charged past its new budget
    meanwhile would have issued allowance that is also given to the others. Below what is
    counted every budget is cut to its count or less, and no shard has room whatever lands.
    """
    return limit is not None and limit >= sum(counts)


def version_of(item: dict[str, Any]) -> int:
    return int(item.get(OPERATOR_VERSION, {}).get("N", "0"))


def version_check(seen: int) -> tuple[str, dict[str, Any]]:
    """The condition (on ``#version``) that the operator version is still ``seen``, and its values."""
    if seen == 0:
        return "attribute_not_exists(#version)", {}
    return "#version = :seen", {":seen": {"N": str(seen)}}


def landed(item: dict[str, Any], tokens: list[str]) -> bool:
    """Whether the last change the customer's item records is one of these attempts'."""
    return item.get(LAST_CHANGE, {}).get("S") in tokens


def back_off(attempt: int) -> None:
    """Nothing before the first attempt; then jittered, doubling up to 2 s (charges or a slow engine to wait out)."""
    if attempt:
        time.sleep(random.uniform(0, min(2.0, BACKOFF_SECONDS * 2**attempt)))  # noqa: S311 - jitter, not security


def fence(update: dict[str, Any], base: dict[str, Any], count: int, token: str) -> None:
    """Add to the customer's own update: nothing changed since the read (version, shard items), and record ``token``."""
    seen = version_of(base)
    check = "#items = :items" if count > 1 else "(attribute_not_exists(#items) OR #items = :items)"
    version, version_values = version_check(seen)
    update["ConditionExpression"] = f"{update['ConditionExpression']} AND {check} AND {version}"
    update["ExpressionAttributeNames"] = {
        **update["ExpressionAttributeNames"],
        "#items": SHARD_ITEMS,
        "#version": OPERATOR_VERSION,
        "#change": LAST_CHANGE,
    }
    update["ExpressionAttributeValues"] = {
        **update.get("ExpressionAttributeValues", {}),
        ":items": {"N": str(count)},
        ":next": {"N": str(seen + 1)},
        ":change": {"S": token},
        **version_values,
    }
    assignments = "#version = :next, #change = :change"
    expression = update["UpdateExpression"]
    # SET comes first in every expression built here: join it, or lead with one.
    update["UpdateExpression"] = (
        f"SET {assignments}, {expression[4:]}" if expression.startswith("SET ") else f"SET {assignments} {expression}"
    )
