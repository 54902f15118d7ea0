"""Redemption records and use counters, both in the records table (docs/data-model.md)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drmtoken.core.uses import IN_FLIGHT_SECONDS, Reservation, Settled

from .dynamodb import call, conditional_write
from .items import (
    COOKIE_INDEX,
    COOKIE_KEY,
    EXPIRES_AT,
    RECORD_BUCKETS,
    RECORD_PK,
    RECORD_SK,
    RESERVED_AT,
    USES,
    cookie_partition,
    record_from_item,
    record_item,
    record_partition,
    use_counter_key,
)


class DynamoRecords:
    """``RecordStore``: one item per redemption, kept by TTL for the retention period."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, record: Mapping[str, Any], retention_seconds: int) -> None:
        """One PutItem, in one of the customer's buckets picked at random: no partition key is hot."""
        sort_key = f"{record['time']:013d}#{record.get('tokenId', '')}#{secrets.token_hex(4)}"
        expires_at = record["time"] // 1000 + retention_seconds
        bucket = secrets.randbelow(RECORD_BUCKETS)
        item = record_item(dict(record), sort_key, expires_at, bucket)
        call(self.client, "put_item", TableName=self.table, Item=item)


class DynamoUses:
    """``UseCounter``: one counter item per token with maxUses, living as long as the token.

    ``uses`` counts the uses held and spent, and only a reserve adds to it, under
    ``uses < max``. Each reservation is an attribute of the item, ``h<reservation>``, whose
    value is the attempt that owns it, or ``s<attempt>`` once that attempt's license was
    answered (a settled reservation may be held again as a new use). Every step is one
    conditional UpdateItem, safe under botocore's retries of a lost answer: a failed
    condition that shows this attempt's own value means the earlier try landed.
    """

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def reserve(
        self, token_id: str, max_uses: int, expires_at: int, reservation: str, attempt: str, now: int
    ) -> Reservation:
        held = HELD_PREFIX + reservation
        failed = self._update(
            token_id,
            "ADD #uses :one SET #held = :attempt, #expires = :expires, #at = :now",
            "(attribute_not_exists(#uses) OR #uses < :max)"
            " AND (attribute_not_exists(#held) OR begins_with(#held, :settled))",
            {"#uses": USES, "#held": held, "#expires": EXPIRES_AT, "#at": RESERVED_AT},
            {
                ":one": {"N": "1"},
                ":attempt": {"S": attempt},
                ":max": {"N": str(max_uses)},
                ":settled": {"S": SETTLED_PREFIX},
                ":expires": {"N": str(expires_at)},
                ":now": {"N": str(now)},
            },
        )
        if failed is None:
            return Reservation.TAKEN
        owner = failed.get(held, {}).get("S", "")
        if owner == attempt:  # an earlier try of this very call landed
            return Reservation.TAKEN
        if owner and not owner.startswith(SETTLED_PREFIX):  # an earlier attempt's: take it over
            taken = self._update(
                token_id,
                "SET #held = :attempt",
                "#held = :owner",
                {"#held": held},
                {":attempt": {"S": attempt}, ":owner": {"S": owner}},
            )
            if taken is None or taken.get(held, {}).get("S") == attempt:
                return Reservation.HELD
            return Reservation.BUSY  # another attempt of the same request took it first
        in_flight = [name for name, value in failed.items() if name.startswith(HELD_PREFIX) and not is_settled(value)]
        if in_flight and now - int(failed.get(RESERVED_AT, {}).get("N", "0")) < IN_FLIGHT_SECONDS:
            return Reservation.BUSY
        return Reservation.SPENT

    def settle(self, token_id: str, reservation: str, attempt: str) -> Settled:
        held = HELD_PREFIX + reservation
        done = {"S": SETTLED_PREFIX + attempt}
        failed = self._update(
            token_id,
            "SET #held = :done",
            "#held = :attempt OR #held = :done",  # the second: a retried settle that had landed
            {"#held": held},
            {":attempt": {"S": attempt}, ":done": done},
        )
        return Settled.YES if failed is None else Settled.LOST

    def give_back(self, token_id: str, reservation: str, attempt: str) -> None:
        """The owner gives its use back, once: held by it, or settled by it.

        Settled by it too: a settle that landed while all its answers were lost left this
        attempt with no license to answer, so the use it settled was never delivered.
        """
        self._update(
            token_id,
            "REMOVE #held ADD #uses :minus",
            "#held = :attempt OR #held = :done",
            {"#held": HELD_PREFIX + reservation, "#uses": USES},
            {":attempt": {"S": attempt}, ":done": {"S": SETTLED_PREFIX + attempt}, ":minus": {"N": "-1"}},
        )

    def _update(
        self, token_id: str, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """None when applied; else the counter as it was (read again where the engine returns none)."""
        failed = conditional_write(
            self.client,
            "update_item",
            TableName=self.table,
            Key=use_counter_key(token_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if failed is None or failed:
            return failed
        answer = call(self.client, "get_item", TableName=self.table, Key=use_counter_key(token_id), ConsistentRead=True)
        item: dict[str, Any] = answer.get("Item", {})
        return item


HELD_PREFIX = "h"  # h<reservation>: the use counter's reservations
SETTLED_PREFIX = "s"  # s<attempt>: the reservation's use became that attempt's license


def is_settled(value: dict[str, Any]) -> bool:
    return str(value.get("S", "")).startswith(SETTLED_PREFIX)


class DynamoRecordReader:
    """``RecordReader``: one Query per bucket per page, on the table or on the byCookie index, merged newest first."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def page(
        self, customer_id: str, cookie: str | None, length: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """``length`` records older than the sort key ``after``, newest first, and the position after them.

        Sort keys begin with the time and are unique, so each bucket's newest ``length`` below
        ``after``, merged, hold the page exactly. The position is None when no bucket has more.
        """

        def bucket_page(bucket: int) -> tuple[list[dict[str, Any]], bool]:
            if cookie:
                key_name, key_value = COOKIE_KEY, cookie_partition(customer_id, cookie, bucket)
            else:
                key_name, key_value = RECORD_PK, record_partition(customer_id, bucket)
            query: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "#key = :key" + (" AND #sk < :after" if after else ""),
                "ExpressionAttributeNames": {"#key": key_name, **({"#sk": RECORD_SK} if after else {})},
                "ExpressionAttributeValues": {":key": {"S": key_value}, **({":after": {"S": after}} if after else {})},
                "ScanIndexForward": False,  # newest first: the sort key begins with the time
                "Limit": length,
            }
            if cookie:
                query["IndexName"] = COOKIE_INDEX
            answer = call(self.client, "query", **query)
            return answer.get("Items", []), "LastEvaluatedKey" in answer

        pages = list(query_pool().map(bucket_page, range(RECORD_BUCKETS)))
        items = sorted((item for found, _ in pages for item in found), key=lambda i: i[RECORD_SK]["S"], reverse=True)
        more = len(items) > length or any(has_more for _, has_more in pages)
        items = items[:length]
        position = items[-1][RECORD_SK]["S"] if more and items else None
        return [record_from_item(item) for item in items], position


_QUERY_POOL: ThreadPoolExecutor | None = None


def query_pool() -> ThreadPoolExecutor:
    """The buckets are read in parallel: a page costs about one Query's time, not 32 (boto3 clients are thread-safe)."""
    global _QUERY_POOL
    if _QUERY_POOL is None:
        _QUERY_POOL = ThreadPoolExecutor(max_workers=RECORD_BUCKETS, thread_name_prefix="records")
    return _QUERY_POOL
