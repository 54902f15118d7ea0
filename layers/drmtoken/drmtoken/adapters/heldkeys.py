"""``HeldKeyStore`` on DynamoDB: held keys sealed at rest, one item per (customer, KID).

A new key is written with one conditional put (``attribute_not_exists``): when two
requests race for the same KID, the loser reads the winner back, so every answer for a
KID carries the same key. A warm token function keeps keys it read for a short while
(``cache_seconds``): a held key never changes, and a live event reads the same few keys
for every token. Keys that are not there are never cached, so a title just packaged is
usable at once. A title's list of keys does change (a live event's next key period), so it
is kept for TITLE_SECONDS only: a key added to a title is in its tokens within that.
"""

from __future__ import annotations

from typing import Any

from drmtoken.core.errors import DependencyError
from drmtoken.core.heldkeys import HeldKey, SealedKeyError, open_held_key, seal_held_key
from drmtoken.ports import KeyringSource

from .dynamodb import batch_get, call, conditional_write
from .items import (
    CONTENT_ID,
    CONTENT_INDEX,
    CONTENT_REF,
    CREATED_AT,
    KID,
    SEALED_KEY,
    TRACK_TYPE,
    held_key_item,
    held_key_key,
)
from .remembered import Remembered

TITLE_SECONDS = 2.0  # a title's key list, per warm function: at most this stale; one query per title per period


class DynamoHeldKeys:
    def __init__(self, client: Any, table: str, sealing: KeyringSource, cache_seconds: int = 0) -> None:
        self.client = client
        self.table = table
        self.sealing = sealing
        self._remembered = Remembered(cache_seconds)
        self._titles = Remembered(min(cache_seconds, TITLE_SECONDS))

    def get_many(self, customer_id: str, kids: list[str]) -> dict[str, HeldKey]:
        items = batch_get(self.client, self.table, [held_key_key(customer_id, kid) for kid in dict.fromkeys(kids)])
        keys = [self._open(customer_id, item) for item in items]
        return {key.kid: key for key in keys}

    def put_new(self, customer_id: str, key: HeldKey) -> HeldKey:
        sealed = seal_held_key(self.sealing.get(), customer_id, key)
        item = held_key_item(customer_id, key.kid, sealed, key.content_id, key.track_type, key.created_at)
        lost = conditional_write(
            self.client,
            "put_item",
            TableName=self.table,
            Item=item,
            ConditionExpression="attribute_not_exists(#kid)",
            ExpressionAttributeNames={"#kid": KID},
        )
        if lost is None:
            return key
        winner = self.get_many(customer_id, [key.kid]).get(key.kid)
        if winner is None:  # held a moment ago, gone now (an operator deleted it): nothing sensible to answer
            raise DependencyError("held key vanished during the request")
        return winner

    def by_kid(self, customer_id: str, kid: str) -> HeldKey | None:
        def load() -> HeldKey | None:
            item = call(self.client, "get_item", TableName=self.table, Key=held_key_key(customer_id, kid)).get("Item")
            return self._open(customer_id, item) if item else None

        found: HeldKey | None = self._remembered.get(("kid", customer_id, kid), load)
        return found

    def by_content(self, customer_id: str, content_id: str, limit: int) -> list[HeldKey]:
        def load() -> list[HeldKey]:
            answer = call(
                self.client,
                "query",
                TableName=self.table,
                IndexName=CONTENT_INDEX,
                KeyConditionExpression="#ref = :ref",
                ExpressionAttributeNames={"#ref": CONTENT_REF},
                ExpressionAttributeValues={":ref": {"S": f"{customer_id}#{content_id}"}},
                Limit=limit,
            )
            return [self._open(customer_id, item) for item in answer.get("Items", [])]

        found: list[HeldKey] = self._titles.get((customer_id, content_id), load)
        return found

    def _open(self, customer_id: str, item: dict[str, Any]) -> HeldKey:
        kid = item[KID]["S"]
        try:
            key, iv = open_held_key(self.sealing.get(), customer_id, kid, bytes(item[SEALED_KEY]["B"]))
        except SealedKeyError as error:  # names neither the key nor the sealing key
            raise DependencyError(f"held key {kid} does not open: {error}") from None
        return HeldKey(
            kid=kid,
            key=key,
            iv=iv,
            content_id=item.get(CONTENT_ID, {}).get("S", ""),
            track_type=item.get(TRACK_TYPE, {}).get("S", ""),
            created_at=int(item.get(CREATED_AT, {}).get("N", "0")),
        )
