"""What operators do to the tables (the `drmtoken` command): customers, authenticators, limits, keys.

It writes the same items the functions read, through the one definition in
``drmtoken.adapters.items``. The functions' roles may not make these calls; an
operator runs them with their own AWS credentials.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from drmtoken.adapters.dynamodb import call, conditional_write
from drmtoken.adapters.items import (
    CREATED_AT,
    CUSTOMER_ID,
    ENTITLEMENTS,
    KID,
    STATUS,
    STORED_AT,
    WRAPPED_KEY,
    account_from_item,
    content_key_key,
    customer_key,
    hashes_attr,
    issued_attr,
    limit_attr,
)
from drmtoken.core.account import ACTIVE, DISABLED, ENVIRONMENTS, Account, hash_secret
from drmtoken.core.drm import PROFILES, Drm


class CustomerExists(Exception):
    pass


class CustomerNotFound(Exception):
    pass


class AuthenticatorNotFound(Exception):
    pass


class AdminStore:
    def __init__(self, client: Any, customers_table: str, content_keys_table: str) -> None:
        self.client = client
        self.customers_table = customers_table
        self.content_keys_table = content_keys_table

    def create_customer(self, customer_id: str, limits: dict[str, int] | None = None, **entitled: bool) -> None:
        """A new active customer; ``entitled`` by entitlement name (``widevine=True``), absent ones False."""
        names = {row.entitlement for row in PROFILES.values()}
        if unknown := set(entitled) - names:
            raise ValueError(f"no DRM is entitled as {sorted(unknown)}; there are {sorted(names)}")
        item: dict[str, Any] = {
            CUSTOMER_ID: {"S": customer_id},
            STATUS: {"S": ACTIVE},
            ENTITLEMENTS: {"M": {name: {"BOOL": entitled.get(name, False)} for name in sorted(names)}},
            CREATED_AT: {"N": str(int(time.time()))},
        }
        for environment in ENVIRONMENTS:
            item[issued_attr(environment)] = {"N": "0"}
        for environment, limit in (limits or {}).items():
            item[limit_attr(environment)] = {"N": str(limit)}
        refused = conditional_write(
            self.client,
            "put_item",
            TableName=self.customers_table,
            Item=item,
            ConditionExpression=f"attribute_not_exists({CUSTOMER_ID})",
        )
        if refused is not None:
            raise CustomerExists(customer_id)

    def get_customer(self, customer_id: str) -> Account:
        item = call(
            self.client,
            "get_item",
            TableName=self.customers_table,
            Key=customer_key(customer_id),
            ConsistentRead=True,
        ).get("Item")
        if not item:
            raise CustomerNotFound(customer_id)
        return account_from_item(item)

    def list_customers(self) -> Iterator[Account]:
        kwargs: dict[str, Any] = {"TableName": self.customers_table}
        while True:
            page = call(self.client, "scan", **kwargs)
            for item in sorted(page.get("Items", []), key=lambda i: i[CUSTOMER_ID]["S"]):
                yield account_from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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
        kwargs: dict[str, Any] = {
            "TableName": self.customers_table,
            "Key": customer_key(customer_id),
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists({CUSTOMER_ID})",
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if conditional_write(self.client, "update_item", **kwargs) is not None:
            raise CustomerNotFound(customer_id)
