"""Stream slots (docs/data-model.md, "Stream slots"): at most ``maxStreams`` streams open at once per viewer.

A viewer's slots are one list, read whole and written whole under a version, so the
rules here see every slot at once and decide with nothing else: which slots are live,
whether a new stream may open, which one ``end-oldest`` ends. A slot is live until its
``until`` (the last license's life: the renewal interval and the grace) unless it was
ended; an ended or lapsed slot takes no room, and one that lapsed is dropped at the next
write. The viewer is named by a keyed hash of the customer's ``userId``, never the id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from .errors import ApiError

REFUSE_NEW, END_OLDEST = "refuse-new", "end-oldest"
STREAM_POLICIES = (REFUSE_NEW, END_OLDEST)
MAX_STREAMS = 20
_USER_ID = re.compile(r"[!-~]{1,64}")
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{16}")
# Claims of a token with a stream limit; the viewer's hash, never the userId.
SLOT_CLAIMS = ("viewer", "maxStreams", "streamPolicy")


def parse_user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise ValueError("userId must be 1-64 ASCII characters from ! to ~")
    return value


def parse_stream_policy(value: str) -> str:
    if value not in STREAM_POLICIES:
        raise ValueError("unknown stream policy")
    return value


def viewer_of(viewer_key: bytes, customer_id: str, user_id: str) -> str:
    """The viewer's name in claims, slots, records and logs: a keyed hash, one per customer and userId."""
    message = f"{customer_id}\x00{user_id}".encode("ascii")
    return hmac.new(viewer_key, message, hashlib.sha256).hexdigest()[:32]


def check_stream_limit(values: Mapping[str, Any]) -> None:
    """The rules across userId, maxStreams, streamPolicy and renewalInterval; ApiError with their codes."""
    if "streamPolicy" in values and "maxStreams" not in values:
        raise ApiError(-1108, "streamPolicy needs maxStreams")
    if "maxStreams" not in values:
        return
    if "userId" not in values:
        raise ApiError(-1105, "maxStreams needs userId")
    if "renewalInterval" not in values:
        raise ApiError(-1106, "maxStreams needs renewalInterval: a stream lives by its renewals")


@dataclass(frozen=True)
class Slot:
    """One open stream of a viewer."""

    stream_id: str
    opened_at: int  # epoch seconds of its first license
    renewed_at: int  # epoch seconds of its last license, first or renewed
    until: int  # epoch seconds: it lapses unless renewed by then
    drm: str  # widevine, fairplay or clearkey
    device: dict[str, str] = field(default_factory=dict)  # what the license service said of the device
    ended: bool = False  # ended by end-oldest or by the customer: its next renewal is refused

    def live(self, now: int) -> bool:
        return not self.ended and now < self.until

    def kept(self, now: int) -> bool:
        """Still worth keeping in the item: live, or ended but its license not yet run out."""
        return now < self.until


class Opened(Enum):
    OPENED = "opened"  # a new slot: this request's to free if its license does not leave
    KEPT = "kept"  # the stream already had a live slot (a retry, another key of the title)
    FULL = "full"  # refused: maxStreams are live


@dataclass(frozen=True)
class Plan:
    outcome: Opened
    slots: tuple[Slot, ...]  # what the item holds after it (unchanged when FULL or KEPT)


def plan_open(slots: tuple[Slot, ...], new: Slot, max_streams: int, policy: str, now: int) -> Plan:
    """Open ``new`` among ``slots``, or say it is already open, or that there is no room."""
    kept = tuple(slot for slot in slots if slot.kept(now))
    if any(slot.stream_id == new.stream_id and slot.live(now) for slot in kept):
        return Plan(Opened.KEPT, slots)
    live = sorted((slot for slot in kept if slot.live(now)), key=lambda slot: (slot.opened_at, slot.stream_id))
    others = tuple(slot for slot in kept if slot.stream_id != new.stream_id)
    if len(live) >= max_streams:
        if policy != END_OLDEST:
            return Plan(Opened.FULL, slots)
        to_end = {slot.stream_id for slot in live[: len(live) - max_streams + 1]}
        others = tuple(replace(slot, ended=True) if slot.stream_id in to_end else slot for slot in others)
    return Plan(Opened.OPENED, (*others, new))


def renewal_refusal(slot: Slot | None, now: int) -> ApiError:
    """Why a renewal's slot could not be kept: -4034, ended or lapsed (or never opened)."""
    ended = slot is not None and slot.ended and now < slot.until
    return ApiError(-4034, "it was ended" if ended else "it lapsed: no renewal came in time")
