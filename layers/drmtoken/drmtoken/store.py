"""The customer store: accounts, authenticator hashes, allowances and wrapped keys in DynamoDB.

Item of the customers table (key ``customerId``)::

    status                      "active" | "disabled"
    entitlements                {"widevine": bool, "fairplay": bool}
    authenticatorHashes_<env>   string set of SHA-256(secret), absent when empty
    tokensIssued_<env>          number
    tokenLimit_<env>            number, absent = unlimited

Item of the content keys table (key ``customerId``, ``kid``): ``wrappedKey`` (binary).

Every DynamoDB error becomes ``DependencyError`` here, so callers never see botocore.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import ApiError, DependencyError
from .params import Authenticator, Drm, hash_secret
from .settings import ENVIRONMENTS

ACTIVE = "active"
DISABLED = "disabled"
CONDITION_FAILED = "ConditionalCheckFailedException"
CONDITION_FAILED_REASON = "ConditionalCheckFailed"  # the same, as a transaction's cancellation reason
TRANSACTION_CONFLICT_REASON = "TransactionConflict"
TRANSACTION_CONFLICT_ATTEMPTS = 3


class CustomerExists(Exception):
    pass


class CustomerNotFound(Exception):
    pass


class AuthenticatorNotFound(Exception):
    pass


def hashes_attr(environment: str) -> str:
    return f"authenticatorHashes_{environment}"


def issued_attr(environment: str) -> str:
    return f"tokensIssued_{environment}"


def limit_attr(environment: str) -> str:
    return f"tokenLimit_{environment}"


# The shape of a real customer item with no live authenticator: see CustomerStore._refusal.
_UNKNOWN_CUSTOMER_ITEM: dict[str, Any] = {
    "customerId": {"S": ""},
    "status": {"S": DISABLED},
    "entitlements": {"M": {"widevine": {"BOOL": False}, "fairplay": {"BOOL": False}}},
    **{issued_attr(environment): {"N": "0"} for environment in ENVIRONMENTS},
}


@dataclass
class Customer:
    """A customer item in plain Python types."""

    customer_id: str
    status: str
    entitlements: dict[str, bool]
    authenticator_hashes: dict[str, set[str]] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Customer:
        entitlements = item.get("entitlements", {}).get("M", {})
        return cls(
            customer_id=item["customerId"]["S"],
            status=item.get("status", {}).get("S", DISABLED),
            entitlements={k: bool(v.get("BOOL")) for k, v in entitlements.items()},
            authenticator_hashes={e: set(item.get(hashes_attr(e), {}).get("SS", [])) for e in ENVIRONMENTS},
            issued={e: int(item.get(issued_attr(e), {}).get("N", "0")) for e in ENVIRONMENTS},
            limits={e: int(item[limit_attr(e)]["N"]) if limit_attr(e) in item else None for e in ENVIRONMENTS},
        )

    def refusal(self, secret_hash: str, environment: str, drm: Drm, drm_enabled: bool) -> int | None:
        """The first account check of spec section 6 that fails, or None when all pass."""
        if secret_hash not in self.authenticator_hashes.get(environment, set()):
            return -2018
        if self.status != ACTIVE:
            return -2031
        if not self.entitlements.get(drm.entitlement, False):
            return -6006 if drm is Drm.FAIRPLAY else -7011
        if not drm_enabled:
            return -6009 if drm is Drm.FAIRPLAY else -7011
        limit = self.limits.get(environment)
        if limit is not None and self.issued.get(environment, 0) >= limit:
            return -2019
        return None

    def summary(self) -> dict[str, Any]:
        """What an operator may see: counts, never hashes."""
        return {
            "customerId": self.customer_id,
            "status": self.status,
            "entitlements": self.entitlements,
            "environments": {
                e: {
                    "tokensIssued": self.issued.get(e, 0),
                    "tokenLimit": self.limits.get(e),
                    "liveAuthenticators": len(self.authenticator_hashes.get(e, set())),
                }
                for e in ENVIRONMENTS
            },
        }


class CustomerStore:
    def __init__(self, client: Any, customers_table: str, content_keys_table: str) -> None:
        self.client = client
        self.customers_table = customers_table
        self.content_keys_table = content_keys_table

    # --- the token path ----------------------------------------------------------

    def charge_token(
        self, authenticator: Authenticator, environment: str, drm: Drm, drm_enabled: bool, request_token: str
    ) -> None:
        """Authenticate, check the account and count one token in a single conditional write.

        The write is a one-item transaction whose ``ClientRequestToken`` is ``request_token``
        (the token id): when an answer is lost or late and the write is sent again, by botocore
        or by us, DynamoDB recognises the token for 10 minutes and does not count it twice.
        It costs 2 write units instead of 1; a plain ``UpdateItem`` retried after a lost
        answer counted the same request up to three times.

        Raises ApiError with the spec's code when any account check fails; nothing is
        counted then. When the DRM is switched off for the deployment nothing may be
        counted at all, so the account is only read, to answer with the right code.
        """
        if not drm_enabled:
            raise ApiError(self.account_refusal(authenticator, environment, drm, drm_enabled) or -7011)
        update = {
            "TableName": self.customers_table,
            "Key": {"customerId": {"S": authenticator.customer_id}},
            "UpdateExpression": "ADD #issued :one",
            "ConditionExpression": (
                "contains(#hashes, :hash) AND #status = :active AND #ent.#drm = :true"
                " AND (attribute_not_exists(#limit) OR #issued < #limit"
                " OR (attribute_not_exists(#issued) AND #limit > :zero))"
            ),
            "ExpressionAttributeNames": {
                "#hashes": hashes_attr(environment),
                "#status": "status",
                "#ent": "entitlements",
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
        refused_item = self._idempotent_update(update, request_token)
        if refused_item is not None:
            code = self._refusal(refused_item, authenticator.secret_hash, environment, drm, drm_enabled)
            if code is None:  # the item changed between the check and now; the caller may retry
                raise DependencyError("account changed during the request")
            raise ApiError(code)

    def account_refusal(
        self, authenticator: Authenticator, environment: str, drm: Drm, drm_enabled: bool
    ) -> int | None:
        """The account's refusal code, read without counting anything; None when a token could be issued."""
        item = self._call(
            "get_item",
            TableName=self.customers_table,
            Key={"customerId": {"S": authenticator.customer_id}},
            ConsistentRead=True,
        ).get("Item")
        return self._refusal(item, authenticator.secret_hash, environment, drm, drm_enabled)

    @staticmethod
    def _refusal(
        item: dict[str, Any] | None, secret_hash: str, environment: str, drm: Drm, drm_enabled: bool
    ) -> int | None:
        # An unknown customer is classified on a placeholder item of the same shape, so that
        # it costs what a wrong secret costs: the time of a -2018 must not tell which it was.
        customer = Customer.from_item(item or _UNKNOWN_CUSTOMER_ITEM)
        return customer.refusal(secret_hash, environment, drm, drm_enabled)

    def refund_token(self, customer_id: str, environment: str, request_token: str) -> None:
        """Give back the token counted for ``request_token``'s request; idempotent like the charge."""
        self._idempotent_update(
            {
                "TableName": self.customers_table,
                "Key": {"customerId": {"S": customer_id}},
                "UpdateExpression": "ADD #issued :minus",
                "ConditionExpression": "#issued > :zero",  # never below zero
                "ExpressionAttributeNames": {"#issued": issued_attr(environment)},
                "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            },
            f"{request_token}-refund",
        )

    def get_wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        item = self._call(
            "get_item",
            TableName=self.content_keys_table,
            Key={"customerId": {"S": customer_id}, "kid": {"S": kid}},
        ).get("Item")
        return bytes(item["wrappedKey"]["B"]) if item else None

    # --- operations (the drmtoken command) ------------------------------------------

    def create_customer(self, customer_id: str, widevine: bool, fairplay: bool, limits: dict[str, int]) -> None:
        item: dict[str, Any] = {
            "customerId": {"S": customer_id},
            "status": {"S": ACTIVE},
            "entitlements": {"M": {"widevine": {"BOOL": widevine}, "fairplay": {"BOOL": fairplay}}},
            "createdAt": {"N": str(int(time.time()))},
        }
        for environment in ENVIRONMENTS:
            item[issued_attr(environment)] = {"N": "0"}
        for environment, limit in limits.items():
            item[limit_attr(environment)] = {"N": str(limit)}
        refused = self._conditional_write(
            "put_item",
            TableName=self.customers_table,
            Item=item,
            ConditionExpression="attribute_not_exists(customerId)",
        )
        if refused is not None:
            raise CustomerExists(customer_id)

    def get_customer(self, customer_id: str) -> Customer:
        item = self._call(
            "get_item", TableName=self.customers_table, Key={"customerId": {"S": customer_id}}, ConsistentRead=True
        ).get("Item")
        if not item:
            raise CustomerNotFound(customer_id)
        return Customer.from_item(item)

    def list_customers(self) -> Iterator[Customer]:
        kwargs: dict[str, Any] = {"TableName": self.customers_table}
        while True:
            page = self._call("scan", **kwargs)
            for item in sorted(page.get("Items", []), key=lambda i: i["customerId"]["S"]):
                yield Customer.from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_status(self, customer_id: str, active: bool) -> None:
        self._update_existing(
            customer_id,
            "SET #status = :status",
            {"#status": "status"},
            {":status": {"S": ACTIVE if active else DISABLED}},
        )

    def set_entitlement(self, customer_id: str, drm: Drm, entitled: bool) -> None:
        self._update_existing(
            customer_id,
            "SET #ent.#drm = :value",
            {"#ent": "entitlements", "#drm": drm.entitlement},
            {":value": {"BOOL": entitled}},
        )

    def set_limit(self, customer_id: str, environment: str, limit: int | None) -> None:
        if limit is None:
            self._update_existing(customer_id, "REMOVE #limit", {"#limit": limit_attr(environment)}, None)
        else:
            self._update_existing(
                customer_id, "SET #limit = :limit", {"#limit": limit_attr(environment)}, {":limit": {"N": str(limit)}}
            )

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
        customer = self.get_customer(customer_id)
        for environment, hashes in customer.authenticator_hashes.items():
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
        self._call(
            "put_item",
            TableName=self.content_keys_table,
            Item={
                "customerId": {"S": customer_id},
                "kid": {"S": kid},
                "wrappedKey": {"B": wrapped_key},
                "storedAt": {"N": str(int(time.time()))},
            },
        )

    def delete_key(self, customer_id: str, kid: str) -> bool:
        result = self._call(
            "delete_item",
            TableName=self.content_keys_table,
            Key={"customerId": {"S": customer_id}, "kid": {"S": kid}},
            ReturnValues="ALL_OLD",
        )
        return bool(result.get("Attributes"))

    # --- helpers -------------------------------------------------------------------

    def _update_existing(
        self, customer_id: str, expression: str, names: dict[str, str], values: dict[str, Any] | None
    ) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.customers_table,
            "Key": {"customerId": {"S": customer_id}},
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(customerId)",
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if self._conditional_write("update_item", **kwargs) is not None:
            raise CustomerNotFound(customer_id)

    def _idempotent_update(self, update: dict[str, Any], request_token: str) -> dict[str, Any] | None:
        """One conditional update as a one-item transaction under ``request_token``.

        None when it was applied (now or by an earlier attempt with the same token), else the
        item returned with the failed condition ({} if none). A conflict with another
        transaction on the item is retried here with the same token, so it is never counted
        twice; botocore already retries timeouts, lost answers and TransactionInProgress.
        """
        for attempt in range(TRANSACTION_CONFLICT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=[{"Update": update}], ClientRequestToken=request_token)
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

    def _conditional_write(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """Run a conditional write: None when it succeeded, else the item returned with the failure ({} if none)."""
        try:
            getattr(self.client, operation)(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise DependencyError(f"{operation} failed: {error.response.get('Error', {}).get('Code')}") from error
            item: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
            return item
        except BotoCoreError as error:
            raise DependencyError(f"{operation} failed: {type(error).__name__}") from error
        return None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise DependencyError(f"{operation} failed: {type(error).__name__}") from error
        return result
