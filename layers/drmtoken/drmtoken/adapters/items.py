"""The DynamoDB items, defined once: attribute names and the conversion to and from ``Account``.

Used by the functions' adapter and by the operator command, so the two can never
disagree on how a customer is stored (docs/data-model.md).
"""

from __future__ import annotations

from typing import Any

from drmtoken.core.account import DISABLED, ENVIRONMENTS, Account
from drmtoken.core.allowance import Shard, shard_item_id

CUSTOMER_ID = "customerId"
STATUS = "status"
ENTITLEMENTS = "entitlements"
CREATED_AT = "createdAt"
KID = "kid"
WRAPPED_KEY = "wrappedKey"
STORED_AT = "storedAt"
SHARDS = "shards"  # on every shard item: how many shards requests charge (absent: 1)
SHARD_ITEMS = "shardItems"  # on every shard item: how many shard items exist (absent: 1)
# On the customer's own item: how many operator changes landed (absent: 0), and the last one's
# token. Each change requires the version it read and moves it on, so a change whose answer was
# lost is found out by reading the item back, and an older copy still in flight can never land.
OPERATOR_VERSION = "operatorVersion"
LAST_CHANGE = "lastChange"


def hashes_attr(environment: str) -> str:
    return f"authenticatorHashes_{environment}"


def issued_attr(environment: str) -> str:
    return f"tokensIssued_{environment}"


def limit_attr(environment: str) -> str:
    """On a shard item: that shard's budget; with one shard, the customer's limit."""
    return f"tokenLimit_{environment}"


def allowance_attr(environment: str) -> str:
    """On every item of a customer with shards: the whole limit, which the budgets sum to."""
    return f"tokenAllowance_{environment}"


def allowance_of(item: dict[str, Any], environment: str) -> int | None:
    value = item.get(allowance_attr(environment))
    return int(value["N"]) if value else None


def customer_key(customer_id: str) -> dict[str, Any]:
    return {CUSTOMER_ID: {"S": customer_id}}


def shard_key(customer_id: str, index: int) -> dict[str, Any]:
    return customer_key(shard_item_id(customer_id, index))


def shard_counts(item: dict[str, Any]) -> tuple[int, int]:
    """(shards charged, shard items) as a shard item states them."""
    shards = int(item.get(SHARDS, {}).get("N", "1"))
    return shards, max(shards, int(item.get(SHARD_ITEMS, {}).get("N", "1")))


def shard_of(item: dict[str, Any], index: int, environment: str) -> Shard:
    limit = item.get(limit_attr(environment))
    return Shard(index, int(item.get(issued_attr(environment), {}).get("N", "0")), int(limit["N"]) if limit else None)


def content_key_key(customer_id: str, kid: str) -> dict[str, Any]:
    return {CUSTOMER_ID: {"S": customer_id}, KID: {"S": kid}}


def account_from_item(item: dict[str, Any]) -> Account:
    """One shard item as an account: its own count and budget (the customer's, when it has one shard)."""
    entitlements = item.get(ENTITLEMENTS, {}).get("M", {})
    return Account(
        customer_id=item[CUSTOMER_ID]["S"],
        status=item.get(STATUS, {}).get("S", DISABLED),
        entitlements={k: bool(v.get("BOOL")) for k, v in entitlements.items()},
        authenticator_hashes={e: set(item.get(hashes_attr(e), {}).get("SS", [])) for e in ENVIRONMENTS},
        issued={e: int(item.get(issued_attr(e), {}).get("N", "0")) for e in ENVIRONMENTS},
        limits={e: int(item[limit_attr(e)]["N"]) if limit_attr(e) in item else None for e in ENVIRONMENTS},
        shards=shard_counts(item)[0],
    )


def account_from_shards(items: list[dict[str, Any]]) -> Account:
    """The customer from all its shard items (the customer's own first): counts and budgets summed."""
    account = account_from_item(items[0])
    for environment in ENVIRONMENTS:
        shards = [shard_of(item, index, environment) for index, item in enumerate(items)]
        account.issued[environment] = sum(shard.issued for shard in shards)
        budgets = [shard.budget for shard in shards]
        account.limits[environment] = None if None in budgets else sum(b or 0 for b in budgets)
    return account


# --- the records table: redemption records and use counters (docs/data-model.md) --------------

RECORD_PK = "pk"  # "<customer id>#<bucket>" for records; "uses#<token id>" for a use counter
RECORD_SK = "sk"  # "<time in ms, 13 digits>#<token id>#<random>": newest first by sort key
COOKIE_KEY = "cookieKey"  # "<customer id>#<cookie>#<bucket>", key of the byCookie index
EXPIRES_AT = "expiresAt"  # epoch seconds: DynamoDB's TTL attribute
USES = "uses"
RESERVED_AT = "reservedAt"
COOKIE_INDEX = "byCookie"
# One customer's records are spread over this many partition keys, each taking at most 1,000
# writes a second: 32 carry 20,000 licenses a second with room for chance (docs/capacity.md).
RECORD_BUCKETS = 32


def record_partition(customer_id: str, bucket: int) -> str:
    return f"{customer_id}#{bucket}"


def cookie_partition(customer_id: str, cookie: str, bucket: int) -> str:
    return f"{customer_id}#{cookie}#{bucket}"  # the bucket last: a cookie may hold '#', a customer id never


def record_item(record: dict[str, Any], sort_key: str, expires_at: int, bucket: int) -> dict[str, Any]:
    """A redemption record as an item: strings and whole numbers only, absent values left out."""
    item: dict[str, Any] = {
        RECORD_PK: {"S": record_partition(record["customerId"], bucket)},
        RECORD_SK: {"S": sort_key},
        EXPIRES_AT: {"N": str(expires_at)},
    }
    if record.get("cookie"):
        item[COOKIE_KEY] = {"S": cookie_partition(record["customerId"], record["cookie"], bucket)}
    for name, value in record.items():
        if isinstance(value, bool) or value is None:
            continue
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    return item


def record_from_item(item: dict[str, Any]) -> dict[str, Any]:
    internal = {RECORD_PK, RECORD_SK, COOKIE_KEY, EXPIRES_AT}
    return {
        name: int(value["N"]) if "N" in value else value["S"]
        for name, value in item.items()
        if name not in internal and ("N" in value or "S" in value)
    }


def use_counter_key(token_id: str) -> dict[str, Any]:
    return {RECORD_PK: {"S": f"uses#{token_id}"}, RECORD_SK: {"S": USES}}


# --- the held-keys table: keys made for packagers, sealed (docs/key-provider.md) ------------

SEALED_KEY = "sealedKey"  # core.heldkeys' sealed bytes: key and IV, bound to customer and KID
CONTENT_ID = "contentId"
CONTENT_REF = "contentRef"  # "<customer id>#<content id>": key of the byContent index
TRACK_TYPE = "trackType"
CONTENT_INDEX = "byContent"


def held_key_key(customer_id: str, kid: str) -> dict[str, Any]:
    return {CUSTOMER_ID: {"S": customer_id}, KID: {"S": kid}}


def held_key_item(
    customer_id: str, kid: str, sealed: bytes, content_id: str, track_type: str, created_at: int
) -> dict[str, Any]:
    item: dict[str, Any] = {
        **held_key_key(customer_id, kid),
        SEALED_KEY: {"B": sealed},
        CONTENT_ID: {"S": content_id},
        CONTENT_REF: {"S": f"{customer_id}#{content_id}"},
        CREATED_AT: {"N": str(created_at)},
    }
    if track_type:
        item[TRACK_TYPE] = {"S": track_type}
    return item
