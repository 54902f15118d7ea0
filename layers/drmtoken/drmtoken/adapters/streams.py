"""``StreamSlots`` on DynamoDB: one item per viewer in the records table (docs/data-model.md, "Stream slots").

The item ``streams#<customer>#<viewer>`` holds a version ``ver`` and one map attribute per
slot, ``t<stream id>``. Opening reads the item and writes it whole under ``ver`` = what it
read (PutItem, conditional), so two opens that read the same slots cannot both land: the
second finds the version moved, reads again and decides again. Every other step is one
conditional UpdateItem on its own slot that also moves ``ver``, so an open that read before
it decides again too. Every write is safe under botocore's retries: a lost answer is found
out by reading the slot back (an open marks its slot with its attempt).
"""

from __future__ import annotations

import random
import secrets
import time
from typing import Any

from drmtoken.core.errors import DependencyError
from drmtoken.core.slots import Opened, Slot, plan_open

from .dynamodb import call, conditional_write
from .items import RECORD_PK, RECORD_SK

VERSION = "ver"
SLOT_PREFIX = "t"
OPEN_ROUNDS = 12  # reads and writes one open may make while others move the version


def stream_key(customer_id: str, viewer: str) -> dict[str, Any]:
    return {RECORD_PK: {"S": f"streams#{customer_id}#{viewer}"}, RECORD_SK: {"S": "streams"}}


def slot_item(slot: Slot, attempt: str = "") -> dict[str, Any]:
    fields: dict[str, Any] = {
        "o": {"N": str(slot.opened_at)},
        "r": {"N": str(slot.renewed_at)},
        "u": {"N": str(slot.until)},
        "d": {"S": slot.drm},
        "e": {"BOOL": slot.ended},
        "v": {"M": {name: {"S": str(value)} for name, value in slot.device.items()}},
    }
    if attempt:
        fields["a"] = {"S": attempt}
    return {"M": fields}


def slot_of(stream_id: str, value: dict[str, Any]) -> Slot:
    fields = value["M"]
    return Slot(
        stream_id=stream_id,
        opened_at=int(fields["o"]["N"]),
        renewed_at=int(fields["r"]["N"]),
        until=int(fields["u"]["N"]),
        drm=fields["d"]["S"],
        device={name: v["S"] for name, v in fields.get("v", {}).get("M", {}).items()},
        ended=bool(fields["e"]["BOOL"]),
    )


def slots_of(item: dict[str, Any]) -> tuple[Slot, ...]:
    return tuple(
        slot_of(name[len(SLOT_PREFIX) :], value)
        for name, value in item.items()
        if name.startswith(SLOT_PREFIX) and "M" in value
    )


class DynamoStreams:
    """``StreamSlots``: exact without transactions; the item is one viewer's, never a customer's."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def open(self, customer_id: str, viewer: str, slot: Slot, max_streams: int, policy: str, now: int) -> Opened:
        key = stream_key(customer_id, viewer)
        attempt = secrets.token_hex(8)
        for round_ in range(OPEN_ROUNDS):
            if round_:
                time.sleep(random.uniform(0, 0.004 * 2 ** min(round_, 6)))  # noqa: S311 - jitter, not security
            item = self._read(key)
            mine = item.get(SLOT_PREFIX + slot.stream_id, {}).get("M", {}).get("a", {}).get("S")
            if mine == attempt:  # this open's write landed, its answer lost
                return Opened.OPENED
            read = slots_of(item)
            plan = plan_open(read, slot, max_streams, policy, now)
            if plan.outcome is not Opened.OPENED:
                return plan.outcome
            version = int(item.get(VERSION, {}).get("N", "0"))
            written = {**key, VERSION: {"N": str(version + 1)}}
            for each in plan.slots:
                name = SLOT_PREFIX + each.stream_id
                unchanged = any(each is old for old in read)  # written as read, marks and all
                written[name] = item[name] if unchanged else slot_item(each, attempt if each is slot else "")
            condition = "attribute_not_exists(#ver)" if VERSION not in item else "#ver = :read"
            values = {":read": {"N": str(version)}} if VERSION in item else None
            failed = conditional_write(
                self.client,
                "put_item",
                TableName=self.table,
                Item=written,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#ver": VERSION},
                **({"ExpressionAttributeValues": values} if values else {}),
            )
            if failed is None:
                return Opened.OPENED
        raise DependencyError("stream slots: the viewer's slots kept changing; retry")

    def renew(self, customer_id: str, viewer: str, stream_id: str, now: int, until: int) -> tuple[bool, Slot | None]:
        """Renew a live slot: (True, None); else (False, the slot as it stood, None when there is none)."""
        failed = self._update(
            customer_id,
            viewer,
            stream_id,
            "SET #slot.r = :now, #slot.u = :until ADD #ver :one",
            "#slot.e = :no AND #slot.u > :now",
            {":now": {"N": str(now)}, ":until": {"N": str(until)}, ":no": {"BOOL": False}},
        )
        if failed is None:
            return True, None
        value = failed.get(SLOT_PREFIX + stream_id)
        return False, slot_of(stream_id, value) if value else None

    def describe(self, customer_id: str, viewer: str, stream_id: str, device: dict[str, str]) -> None:
        """Say what the license service told of the device, on a slot that is still there."""
        self._update(
            customer_id,
            viewer,
            stream_id,
            "SET #slot.v = :device ADD #ver :one",
            "attribute_exists(#slot)",
            {":device": {"M": {name: {"S": str(value)} for name, value in device.items()}}},
        )

    def end(self, customer_id: str, viewer: str, stream_id: str, now: int) -> bool:
        """End a live stream: its slot is free at once and its next renewal refused; False when none is live.

        The slot keeps who ended it, so a retry of an end whose answer was lost knows it landed.
        """
        attempt = secrets.token_hex(8)
        failed = self._update(
            customer_id,
            viewer,
            stream_id,
            "SET #slot.e = :yes, #slot.x = :attempt ADD #ver :one",
            "#slot.e = :no AND #slot.u > :now",
            {":yes": {"BOOL": True}, ":no": {"BOOL": False}, ":now": {"N": str(now)}, ":attempt": {"S": attempt}},
        )
        if failed is None:
            return True
        ender = failed.get(SLOT_PREFIX + stream_id, {}).get("M", {}).get("x", {}).get("S")
        return bool(ender == attempt)

    def close(self, customer_id: str, viewer: str, stream_id: str) -> None:
        """Free a slot (a release, or a first license that did not leave); a repeat does nothing."""
        self._update(customer_id, viewer, stream_id, "REMOVE #slot ADD #ver :one", "attribute_exists(#slot)", {})

    def open_streams(self, customer_id: str, viewer: str, now: int) -> list[Slot]:
        live = [slot for slot in slots_of(self._read(stream_key(customer_id, viewer))) if slot.live(now)]
        return sorted(live, key=lambda slot: (slot.opened_at, slot.stream_id))

    def _read(self, key: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = call(self.client, "get_item", TableName=self.table, Key=key, ConsistentRead=True).get(
            "Item", {}
        )
        return item

    def _update(
        self, customer_id: str, viewer: str, stream_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """None when applied; else the item as it was ({} when there is none)."""
        key = stream_key(customer_id, viewer)
        failed = conditional_write(
            self.client,
            "update_item",
            TableName=self.table,
            Key=key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#slot": SLOT_PREFIX + stream_id, "#ver": VERSION},
            ExpressionAttributeValues={":one": {"N": "1"}, **values},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if failed is None or failed:
            return failed
        return self._read(key)
