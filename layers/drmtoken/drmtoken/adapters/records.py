"""Redemption records and use counters, both in the records table (docs/data-model.md)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from .dynamodb import call, derived_token, idempotent_update
from .items import (
    COOKIE_INDEX,
    COOKIE_KEY,
    EXPIRES_AT,
    RECORD_PK,
    RECORD_SK,
    USES,
    record_from_item,
    record_item,
    use_counter_key,
)


class DynamoRecords:
    """``RecordStore``: one item per redemption, kept by TTL for the retention period."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, record: Mapping[str, Any], retention_seconds: int) -> None:
        sort_key = f"{record['time']:013d}#{record.get('tokenId', '')}#{secrets.token_hex(4)}"
        expires_at = record["time"] // 1000 + retention_seconds
        call(self.client, "put_item", TableName=self.table, Item=record_item(dict(record), sort_key, expires_at))


class DynamoUses:
    """``UseCounter``: one counter item per token with maxUses, living as long as the token."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def reserve(self, token_id: str, max_uses: int, expires_at: int, request_token: str) -> bool:
        update = {
            "TableName": self.table,
            "Key": use_counter_key(token_id),
            "UpdateExpression": "ADD #uses :one SET #expires = :expires",
            "ConditionExpression": "attribute_not_exists(#uses) OR #uses < :max",
            "ExpressionAttributeNames": {"#uses": USES, "#expires": EXPIRES_AT},
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":max": {"N": str(max_uses)},
                ":expires": {"N": str(expires_at)},
            },
        }
        return idempotent_update(self.client, update, request_token) is None

    def give_back(self, token_id: str, request_token: str) -> None:
        idempotent_update(
            self.client,
            {
                "TableName": self.table,
                "Key": use_counter_key(token_id),
                "UpdateExpression": "ADD #uses :minus",
                "ConditionExpression": "#uses > :zero",  # never below zero
                "ExpressionAttributeNames": {"#uses": USES},
                "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            },
            derived_token(request_token, "give-back"),
        )


class DynamoRecordReader:
    """``RecordReader``: one Query per page, on the table or on the byCookie index."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def page(
        self, customer_id: str, cookie: str | None, length: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        key_name, key_value = (COOKIE_KEY, f"{customer_id}#{cookie}") if cookie else (RECORD_PK, customer_id)
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": key_name},
            "ExpressionAttributeValues": {":key": {"S": key_value}},
            "ScanIndexForward": False,  # newest first: the sort key begins with the time
            "Limit": length,
        }
        if cookie:
            query["IndexName"] = COOKIE_INDEX
        if after:
            start = {RECORD_PK: {"S": customer_id}, RECORD_SK: {"S": after}}
            query["ExclusiveStartKey"] = {**start, COOKIE_KEY: {"S": key_value}} if cookie else start
        answer = call(self.client, "query", **query)
        last = answer.get("LastEvaluatedKey")
        return [record_from_item(item) for item in answer.get("Items", [])], last[RECORD_SK]["S"] if last else None
