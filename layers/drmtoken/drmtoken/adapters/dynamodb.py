"""The token path on DynamoDB: the account gate (one conditional write) and the key store.

The items are defined in ``items`` (docs/data-model.md). Every DynamoDB error becomes
``DependencyError`` here, so nothing above this module sees botocore.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drmtoken.core.account import ACTIVE, UNKNOWN_ACCOUNT, Account, Authenticator, refusal_of
from drmtoken.core.drm import DrmProfile
from drmtoken.core.errors import ApiError, DependencyError

from .items import (
    ENTITLEMENTS,
    STATUS,
    WRAPPED_KEY,
    account_from_item,
    content_key_key,
    customer_key,
    hashes_attr,
    issued_attr,
    limit_attr,
)

CONDITION_FAILED = "ConditionalCheckFailedException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"  # the same, as a transaction's cancellation reason
TRANSACTION_CONFLICT_REASON = "TransactionConflict"
TRANSACTION_CONFLICT_ATTEMPTS = 3


class DynamoAccounts:
    """``AccountGate`` on the customers table."""

    def __init__(self, client: Any, customers_table: str) -> None:
        self.client = client
        self.customers_table = customers_table

    def charge(
        self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool, request_token: str
    ) -> None:
        """Authenticate, check the account and count one token in a single conditional write.

        The write is a one-item transaction whose ``ClientRequestToken`` is ``request_token``
        (the token id): when an answer is lost or late and the write is sent again, by botocore
        or by us, DynamoDB recognises the token for 10 minutes and does not count it twice.
        It costs 2 write units instead of 1; a plain ``UpdateItem`` retried after a lost
        answer counted the same request up to three times. IAM-wise it needs only UpdateItem.

        Raises ApiError with the contract's code when any account check fails; nothing is
        counted then. When the DRM is switched off for the deployment nothing may be
        counted at all, so the account is only read, to answer with the right code.
        """
        if not drm_enabled:
            raise ApiError(self.refusal(authenticator, environment, drm, drm_enabled) or drm.switched_off)
        update = {
            "TableName": self.customers_table,
            "Key": customer_key(authenticator.customer_id),
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
        refused_item = idempotent_update(self.client, update, request_token)
        if refused_item is not None:
            account = account_from_item(refused_item) if refused_item else None
            code = refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)
            if code is None:  # the item changed between the check and now; the caller may retry
                raise DependencyError("account changed during the request")
            raise ApiError(code)

    def refusal(self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The account's refusal code, read without counting anything; None when a token could be issued."""
        account = self.account(authenticator.customer_id)
        return refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)

    def authenticate(self, authenticator: Authenticator, environment: str) -> int | None:
        account = self.account(authenticator.customer_id)
        return (account or UNKNOWN_ACCOUNT).authentication_refusal(authenticator.secret_hash, environment)

    def account(self, customer_id: str) -> Account | None:
        item = call(
            self.client, "get_item", TableName=self.customers_table, Key=customer_key(customer_id), ConsistentRead=True
        ).get("Item")
        return account_from_item(item) if item else None

    def refund(self, customer_id: str, environment: str, request_token: str) -> None:
        """Give back the token counted for ``request_token``'s request; idempotent like the charge."""
        idempotent_update(
            self.client,
            {
                "TableName": self.customers_table,
                "Key": customer_key(customer_id),
                "UpdateExpression": "ADD #issued :minus",
                "ConditionExpression": "#issued > :zero",  # never below zero
                "ExpressionAttributeNames": {"#issued": issued_attr(environment)},
                "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            },
            derived_token(request_token, "refund"),
        )


class DynamoKeyStore:
    """``KeyStore`` on the content keys table."""

    def __init__(self, client: Any, content_keys_table: str) -> None:
        self.client = client
        self.content_keys_table = content_keys_table

    def wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        item = call(
            self.client, "get_item", TableName=self.content_keys_table, Key=content_key_key(customer_id, kid)
        ).get("Item")
        return bytes(item[WRAPPED_KEY]["B"]) if item else None


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


def derived_token(request_token: str, purpose: str) -> str:
    """A second request token for a second write of the same request (a refund, a give-back).

    DynamoDB takes at most 36 characters, so it is a digest, not ``<token>-<purpose>``.
    """
    return hashlib.sha256(f"{request_token}/{purpose}".encode()).hexdigest()[:32]


def idempotent_update(client: Any, update: dict[str, Any], request_token: str) -> dict[str, Any] | None:
    """One conditional update as a one-item transaction under ``request_token``.

    None when it was applied (now or by an earlier attempt with the same token), else the
    item returned with the failed condition ({} if none). A conflict with another
    transaction on the item is retried here with the same token, so it is never counted
    twice; botocore already retries timeouts, lost answers and TransactionInProgress.
    """
    for attempt in range(TRANSACTION_CONFLICT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=[{"Update": update}], ClientRequestToken=request_token)
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
