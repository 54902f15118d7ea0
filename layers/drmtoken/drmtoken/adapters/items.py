"""The DynamoDB items, defined once: attribute names and the conversion to and from ``Account``.

Used by the functions' adapter and by the operator command, so the two can never
disagree on how a customer is stored (docs/data-model.md).
"""

from __future__ import annotations

from typing import Any

from drmtoken.core.account import DISABLED, ENVIRONMENTS, Account

CUSTOMER_ID = "customerId"
STATUS = "status"
ENTITLEMENTS = "entitlements"
CREATED_AT = "createdAt"
KID = "kid"
WRAPPED_KEY = "wrappedKey"
STORED_AT = "storedAt"


def hashes_attr(environment: str) -> str:
    return f"authenticatorHashes_{environment}"


def issued_attr(environment: str) -> str:
    return f"tokensIssued_{environment}"


def limit_attr(environment: str) -> str:
    return f"tokenLimit_{environment}"


def customer_key(customer_id: str) -> dict[str, Any]:
    return {CUSTOMER_ID: {"S": customer_id}}


def content_key_key(customer_id: str, kid: str) -> dict[str, Any]:
    return {CUSTOMER_ID: {"S": customer_id}, KID: {"S": kid}}


def account_from_item(item: dict[str, Any]) -> Account:
    entitlements = item.get(ENTITLEMENTS, {}).get("M", {})
    return Account(
        customer_id=item[CUSTOMER_ID]["S"],
        status=item.get(STATUS, {}).get("S", DISABLED),
        entitlements={k: bool(v.get("BOOL")) for k, v in entitlements.items()},
        authenticator_hashes={e: set(item.get(hashes_attr(e), {}).get("SS", [])) for e in ENVIRONMENTS},
        issued={e: int(item.get(issued_attr(e), {}).get("N", "0")) for e in ENVIRONMENTS},
        limits={e: int(item[limit_attr(e)]["N"]) if limit_attr(e) in item else None for e in ENVIRONMENTS},
    )
