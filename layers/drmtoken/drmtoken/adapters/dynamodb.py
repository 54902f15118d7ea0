"""The token path on DynamoDB: the account gate (one conditional write) and the key store.

The items are defined in ``items`` (docs/data-model.md). Every DynamoDB error becomes
``DependencyError`` here, so nothing above this module sees botocore.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drmtoken.core.account import ACTIVE, UNKNOWN_ACCOUNT, Account, Authenticator, refusal_of
from drmtoken.core.allowance import Move, plan_move, shard_item_id, used_up
from drmtoken.core.drm import DrmProfile
from drmtoken.core.errors import ApiError, DependencyError

from .items import (
    CUSTOMER_ID,
    ENTITLEMENTS,
    SHARDS,
    STATUS,
    WRAPPED_KEY,
    account_from_item,
    account_from_shards,
    allowance_of,
    content_key_key,
    customer_key,
    hashes_attr,
    issued_attr,
    limit_attr,
    shard_counts,
    shard_key,
    shard_of,
)
from .remembered import Remembered

CONDITION_FAILED = "ConditionalCheckFailedException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"  # the same, as a transaction's cancellation reason
TRANSACTION_CONFLICT_REASON = "TransactionConflict"
TRANSACTION_CONFLICT_ATTEMPTS = 3
BATCH_GET_LIMIT = 100  # DynamoDB's BatchGetItem bound
BATCH_GET_ROUNDS = 5  # rounds for unprocessed keys before giving up (503)
CHARGE_ATTEMPTS = 8  # a charge, then a move and a charge again while other requests race for the room
SHARD_COUNT_SECONDS = 60.0  # an operator's set-shards reaches every function within this
# A function that found an allowance used up refuses its spent shards without reading every shard
# again for this long: after a live event's last token, refusals would otherwise read all S items each.
SPENT_SECONDS = 1.0


class DynamoAccounts:
    """``AccountGate`` on the customers table, over the customer's shard items (docs/data-model.md, "Shards")."""

    def __init__(self, client: Any, customers_table: str) -> None:
        self.client = client
        self.customers_table = customers_table
        self._shard_counts = Remembered(SHARD_COUNT_SECONDS)  # (customer id,) -> shards charged
        self._spent = Remembered(SPENT_SECONDS)  # (customer id, environment) -> True: the allowance was used up

    def charge(
        self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool, request_token: str
    ) -> int:
        """Authenticate, check the account and count one token on one shard in a single conditional write.

        Returns the shard charged. Each write is a one-item transaction whose
        ``ClientRequestToken`` is derived from ``request_token`` (the token id) and the
        attempt: when an answer is lost or late and botocore sends it again, DynamoDB
        recognises the token for 10 minutes and does not count it twice. It costs 2 write
        units instead of 1; a plain ``UpdateItem`` retried after a lost answer counted the
        same request up to three times. IAM-wise a charge needs only UpdateItem (a move
        reads the shards with BatchGetItem).

        The shard is picked at random. When its budget is spent while other shards have
        room, budget moves to it (``_make_room``) and it is charged again; -2019 only when
        the allowance is spent as a whole. Raises ApiError with the contract's code when
        any account check fails; nothing is counted then. When the DRM is switched off for
        the deployment nothing may be counted at all, so the account is only read.
        """
        if not drm_enabled:
            raise ApiError(self.refusal(authenticator, environment, drm, drm_enabled) or drm.switched_off)
        customer_id = authenticator.customer_id
        shard = random.randrange(self.shard_count(customer_id))  # noqa: S311 - spreading load, not security
        for attempt in range(CHARGE_ATTEMPTS):
            update = charge_update(self.customers_table, authenticator, environment, drm, shard)
            refused_item = idempotent_update(self.client, update, derived_token(request_token, f"charge/{attempt}"))
            if refused_item is None:
                return shard
            if not refused_item and shard != 0:  # fewer shards than remembered: ask again, charge the first
                self._shard_counts.forget((customer_id,))
                shard = 0
                continue
            account = account_from_item(refused_item) if refused_item else None
            code = refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)
            if code is None:  # the shard gained room since the check (a move): charge it again
                continue
            if code != -2019 or not self._make_room(customer_id, environment, shard, refused_item):
                raise ApiError(code)
        raise DependencyError("the allowance kept moving under the charge")

    def shard_count(self, customer_id: str) -> int:
        """How many shards this customer's requests charge: read once a minute per function instance."""

        def load() -> int:  # an unknown customer's 1 is kept too: a stranger costs what a wrong secret costs
            item = call(
                self.client,
                "get_item",
                TableName=self.customers_table,
                Key=customer_key(customer_id),
                ProjectionExpression="#shards",
                ExpressionAttributeNames={"#shards": SHARDS},
            ).get("Item", {})
            return shard_counts(item)[0]

        shards: int = self._shard_counts.get((customer_id,), load)
        return shards

    def _make_room(self, customer_id: str, environment: str, spent: int, spent_item: dict[str, Any]) -> bool:
        """Move budget to the spent shard; False when the allowance is spent as a whole (then -2019)."""
        shard_items = shard_counts(spent_item)[1]
        if shard_items == 1:  # the one shard is the whole allowance
            return False
        if self._spent.known((customer_id, environment)):
            return False  # refusals after the last token read nothing more for a moment
        items = self.shard_items(customer_id)
        shards = [shard_of(item, index, environment) for index, item in enumerate(items)]
        if used_up(shards, allowance_of(items[0], environment)):
            self._spent.keep((customer_id, environment), True)
            return False
        move = plan_move(shards, spent)
        if move is not None:
            with contextlib.suppress(DependencyError):  # a move lost to a racing one: the charge will tell
                transact(self.client, move_budget(self.customers_table, customer_id, environment, move), None)
        return True  # moved, or another request moved first, or room appeared: charge again

    def shard_items(self, customer_id: str) -> list[dict[str, Any]]:
        """Every shard item of the customer, the customer's own first, read consistently; [] when unknown."""
        base = self.own_item(customer_id)
        if not base:
            return []
        count = shard_counts(base)[1]
        if count == 1:
            return [base]
        found = batch_get(self.client, self.customers_table, [shard_key(customer_id, i) for i in range(1, count)])
        by_id = {item[CUSTOMER_ID]["S"]: item for item in found}
        return [base] + [by_id[shard_item_id(customer_id, i)] for i in range(1, count)]

    def refusal(self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The account's refusal code, read without counting anything; None when a token could be issued."""
        items = self.shard_items(authenticator.customer_id)
        account = account_from_shards(items) if items else None
        return refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)

    def authenticate(self, authenticator: Authenticator, environment: str) -> int | None:
        account = self.account(authenticator.customer_id)
        return (account or UNKNOWN_ACCOUNT).authentication_refusal(authenticator.secret_hash, environment)

    def account(self, customer_id: str) -> Account | None:
        """The customer's own item: status, entitlements and authenticators (every shard carries the same)."""
        item = self.own_item(customer_id)
        return account_from_item(item) if item else None

    def own_item(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's own item (shard 0), read consistently; None when there is no such customer."""
        item: dict[str, Any] | None = call(
            self.client, "get_item", TableName=self.customers_table, Key=customer_key(customer_id), ConsistentRead=True
        ).get("Item")
        return item

    def refund(self, customer_id: str, environment: str, request_token: str, shard: int = 0) -> None:
        """Give back the token counted on ``shard`` for ``request_token``'s request; idempotent like the charge."""
        idempotent_update(
            self.client,
            {
                "TableName": self.customers_table,
                "Key": shard_key(customer_id, shard),
                "UpdateExpression": "ADD #issued :minus",
                "ConditionExpression": "#issued > :zero",  # never below zero
                "ExpressionAttributeNames": {"#issued": issued_attr(environment)},
                "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            },
            derived_token(request_token, "refund"),
        )


def charge_update(
    table: str, authenticator: Authenticator, environment: str, drm: DrmProfile, shard: int
) -> dict[str, Any]:
    """The one conditional write of a token: every account check, and one more on the shard's count."""
    return {
        "TableName": table,
        "Key": shard_key(authenticator.customer_id, shard),
        "UpdateExpression": "ADD #issued :one",
        "ConditionExpression": (
            "contains(#hashes, :hash) AND #status = :active AND #ent.#drm = :true"
            " AND (attribute_not_exists(#limit) OR #issued < #limit"
            " OR (attribute_not_exists(#issued) AND #limit > :zero))"
        ),
        "ExpressionAttributeNames": {
            "#hashes": hashes_attr(environment),
            "#status": STATUS,
            "#ent": ENTITLEMENTS,
            "#drm": drm.entitlement,
            "#issued": issued_attr(environment),
            "#limit": limit_attr(environment),
        },
        "ExpressionAttributeValues": {
            ":hash": {"S": authenticator.secret_hash},
            ":active": {"S": ACTIVE},
            ":true": {"BOOL": True},
            ":one": {"N": "1"},
            ":zero": {"N": "0"},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def move_budget(table: str, customer_id: str, environment: str, move: Move) -> list[dict[str, Any]]:
    """One transaction: the donor gives ``amount`` only if its budget is as read and still covers its count."""
    names = {"#limit": limit_attr(environment)}
    return [
        {
            "Update": {
                "TableName": table,
                "Key": shard_key(customer_id, move.donor),
                "UpdateExpression": "ADD #limit :minus",
                "ConditionExpression": "#limit = :seen AND #issued <= :after",
                "ExpressionAttributeNames": {**names, "#issued": issued_attr(environment)},
                "ExpressionAttributeValues": {
                    ":minus": {"N": str(-move.amount)},
                    ":seen": {"N": str(move.donor_budget)},
                    ":after": {"N": str(move.donor_budget_after)},
                },
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": shard_key(customer_id, move.to),
                "UpdateExpression": "ADD #limit :amount",
                "ConditionExpression": "attribute_exists(#limit)",  # still limited
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":amount": {"N": str(move.amount)}},
            }
        },
    ]


class DynamoKeyStore:
    """``KeyStore`` on the content keys table; a warm function keeps a stored key it read for ``cache_seconds``."""

    def __init__(self, client: Any, content_keys_table: str, cache_seconds: float = 0) -> None:
        self.client = client
        self.content_keys_table = content_keys_table
        self._remembered = Remembered(cache_seconds)

    def wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        def load() -> bytes | None:
            key = content_key_key(customer_id, kid)
            item = call(self.client, "get_item", TableName=self.content_keys_table, Key=key).get("Item")
            return bytes(item[WRAPPED_KEY]["B"]) if item else None

        wrapped: bytes | None = self._remembered.get((customer_id, kid), load)
        return wrapped


# --- calls, with every failure turned into DependencyError -------------------------------


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = getattr(client, operation)(**kwargs)
    except (ClientError, BotoCoreError) as error:
        raise DependencyError(f"{operation} failed: {type(error).__name__}") from error
    return result


def conditional_write(client: Any, operation: str, **kwargs: Any) -> dict[str, Any] | None:
    """Run a conditional write: None when it succeeded, else the item returned with the failure ({} if none)."""
    try:
        getattr(client, operation)(**kwargs)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
            raise DependencyError(f"{operation} failed: {error.response.get('Error', {}).get('Code')}") from error
        item: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
        return item
    except BotoCoreError as error:
        raise DependencyError(f"{operation} failed: {type(error).__name__}") from error
    return None


def batch_get(client: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of ``keys`` that exist, read consistently, 100 keys a call, asking again for what DynamoDB left."""
    items: list[dict[str, Any]] = []
    pending = list(keys)
    for attempt in range(BATCH_GET_ROUNDS):
        if not pending:
            return items
        if attempt:
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not security
        batch, pending = pending[:BATCH_GET_LIMIT], pending[BATCH_GET_LIMIT:]
        answer = call(client, "batch_get_item", RequestItems={table: {"Keys": batch, "ConsistentRead": True}})
        items.extend(answer.get("Responses", {}).get(table, []))
        pending += answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    if pending:
        raise DependencyError("BatchGetItem left keys unprocessed")
    return items


def derived_token(request_token: str, purpose: str) -> str:
    """A second request token for a second write of the same request (a refund, a give-back).

    DynamoDB takes at most 36 characters, so it is a digest, not ``<token>-<purpose>``.
    """
    return hashlib.sha256(f"{request_token}/{purpose}".encode()).hexdigest()[:32]


def idempotent_update(client: Any, update: dict[str, Any], request_token: str) -> dict[str, Any] | None:
    """One conditional update as a one-item transaction under ``request_token``.

    None when it was applied (now or by an earlier attempt with the same token), else the
    item returned with the failed condition ({} if none).
    """
    return transact(client, [{"Update": update}], request_token)


def transact(client: Any, items: list[dict[str, Any]], request_token: str | None) -> dict[str, Any] | None:
    """One transaction: None when applied, else the item of the first failed condition ({} if none).

    A conflict with another transaction is retried here with the same token, so it is
    never applied twice; botocore already retries timeouts, lost answers and
    TransactionInProgress.
    """
    token = {"ClientRequestToken": request_token} if request_token else {}
    for attempt in range(TRANSACTION_CONFLICT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items, **token)
            return None
        except ClientError as error:
            reasons: list[dict[str, Any]] = list(error.response.get("CancellationReasons") or [])  # type: ignore[arg-type]
            codes = [reason.get("Code") for reason in reasons]
            if CONDITION_FAILED_REASON in codes:
                item: dict[str, Any] = reasons[codes.index(CONDITION_FAILED_REASON)].get("Item", {})
                return item
            if TRANSACTION_CONFLICT_REASON in codes and attempt + 1 < TRANSACTION_CONFLICT_ATTEMPTS:
                time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security
                continue
            code = error.response.get("Error", {}).get("Code")
            raise DependencyError(f"TransactWriteItems failed: {code} {codes or ''}".rstrip()) from error
        except BotoCoreError as error:
            raise DependencyError(f"TransactWriteItems failed: {type(error).__name__}") from error
    raise AssertionError("unreachable")  # the loop returns or raises
