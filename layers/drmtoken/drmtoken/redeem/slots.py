"""A token's stream limit at redemption (docs/rights-api.md, "Streams"): open, keep and free its stream's slot.

Only tokens with ``maxStreams`` have slots; for any other token these do nothing and
cost no call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drmtoken.core.errors import ApiError
from drmtoken.core.rights import GRACE_SECONDS, Rights
from drmtoken.core.slots import REFUSE_NEW, Opened, Slot, renewal_refusal
from drmtoken.core.streams import Stream
from drmtoken.ports import StreamSlots


def limited(claims: Mapping[str, Any]) -> bool:
    return "maxStreams" in claims


def lease_end(rights: Rights, now: int) -> int:
    """When a slot lapses unless renewed: the license's life, the interval and the grace."""
    return now + (rights.renewal_interval or 0) + GRACE_SECONDS


def open_slot(
    slots: StreamSlots, claims: Mapping[str, Any], stream: Stream, drm_name: str, rights: Rights, now: int
) -> bool:
    """Take the stream's slot for a first license; -4033 when the viewer has no room. True: this request opened it."""
    slot = Slot(stream.stream_id, now, now, lease_end(rights, now), drm_name)
    customer, viewer = claims["customerId"], claims["viewer"]
    policy = claims.get("streamPolicy", REFUSE_NEW)
    opened = slots.open(customer, viewer, slot, claims["maxStreams"], policy, now)
    if opened is Opened.FULL:
        raise ApiError(-4033, f"{claims['maxStreams']} streams are open")
    return opened is Opened.OPENED


def keep_slot(slots: StreamSlots, claims: Mapping[str, Any], stream: Stream, rights: Rights, now: int) -> None:
    """A renewal keeps its stream's slot alive; -4034 when the stream ended or lapsed."""
    renewed, slot = slots.renew(claims["customerId"], claims["viewer"], stream.stream_id, now, lease_end(rights, now))
    if not renewed:
        raise renewal_refusal(slot, now)


def free_slot(slots: StreamSlots, claims: Mapping[str, Any], stream: Stream) -> None:
    slots.close(claims["customerId"], claims["viewer"], stream.stream_id)
