"""License rights (docs/token-api.md §5, "Rights and renewals"): what a token lets a device do, and for how long.

A token grants a streaming license (no ``rightsType``), a license to keep (``BuyToOwn``) or a
rental (``Rental``: kept until its period ends, playable for at most its play duration once
started); any of them but ``BuyToOwn`` may be renewing (``renewalInterval``). The token side
checks the parameters together here and writes the claims; the rights side reads the claims
back as ``Rights`` and asks it how long a license may live. What each DRM is told is derived
from ``Rights`` in that DRM's module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .params import Expiration

STREAMING, BUY_TO_OWN, RENTAL = "Streaming", "BuyToOwn", "Rental"
RIGHTS_TYPES = (BUY_TO_OWN, RENTAL)  # what rightsType may say; absent is a streaming license
GRACE_SECONDS = 60  # a renewing license stops this long after the renewal it missed
RENEWAL_RETRY_SECONDS = 10  # how soon a device tries again after a renewal that failed (Widevine)
RENEWAL_INTERVAL = (60, 3600)  # renewalInterval's bounds, seconds
MAX_RENTAL_PERIOD = 365 * 24 * 3600  # rental.periodEndTime at most this far ahead
MAX_PLAY_DURATION = 31_536_000  # rental.playDuration's upper bound, seconds (365 days)
MAX_RENEWING_SECONDS = 24 * 3600  # a renewing streaming license with no duration renews for at most this long
RENTAL_PARAMETERS = ("rental.periodEndTime", "rental.playDuration")
# Claims of the token (flat, short): the parameters above become these.
RIGHTS_CLAIMS = ("rightsType", "rentalPeriodEnd", "rentalPlayDuration", "renewalInterval")


def parse_rights_type(value: str) -> str:
    if value not in RIGHTS_TYPES:
        raise ValueError("unknown rights type")
    return value


def check_rights(values: Mapping[str, Any], duration_parameter: str, now: float) -> None:
    """The rules across the rights parameters, before anything is counted; ApiError with ExpressPlay's codes.

    ``duration_parameter`` is the route's older way to say how long playback lasts
    (Widevine's ``licenseDuration``, FairPlay's ``rentalDuration``): one way only.
    """
    rights_type = values.get("rightsType")
    rental = [name for name in RENTAL_PARAMETERS if name in values]
    if rights_type is None:
        if rental:
            raise ApiError(-2020, f"{rental[0]} needs rightsType=Rental")
        return
    if duration_parameter in values:
        raise ApiError(-2021, f"rightsType and {duration_parameter} are two ways to say a duration: give one")
    if rights_type == BUY_TO_OWN:
        if rental:
            raise ApiError(-2021, f"{rental[0]} is for rightsType=Rental, not BuyToOwn")
        if "renewalInterval" in values:
            raise ApiError(-2021, "a BuyToOwn license is kept for good and does not renew")
        return
    period_end: Expiration | None = values.get("rental.periodEndTime")
    if period_end is None:
        raise ApiError(-2022, "missing")
    rental_end(period_end, now)


def rental_end(period_end: Expiration, issued_at: float) -> int:
    """Epoch seconds of a rental's end: ``+N`` counts from issue; in the future, at most 365 days ahead."""
    if period_end.relative is not None:
        if period_end.relative > MAX_RENTAL_PERIOD:
            raise ApiError(-2022, "more than 365 days ahead")
        return math.ceil(issued_at + period_end.relative)
    assert period_end.absolute is not None
    if period_end.absolute <= issued_at:
        raise ApiError(-2022, "in the past")
    if period_end.absolute > issued_at + MAX_RENTAL_PERIOD:
        raise ApiError(-2022, "more than 365 days ahead")
    return math.ceil(period_end.absolute)


def rights_claims(values: Mapping[str, Any], issued_at: float) -> dict[str, Any]:
    """The token's rights claims; nothing for a plain streaming token (its claims are as before)."""
    claims: dict[str, Any] = {}
    if "rightsType" in values:
        claims["rightsType"] = values["rightsType"]
    if "rental.periodEndTime" in values:
        claims["rentalPeriodEnd"] = rental_end(values["rental.periodEndTime"], issued_at)
    if "rental.playDuration" in values:
        claims["rentalPlayDuration"] = values["rental.playDuration"]
    if "renewalInterval" in values:
        claims["renewalInterval"] = values["renewalInterval"]
    return claims


@dataclass(frozen=True)
class Rights:
    """A token's rights as the rights side reads them from its claims."""

    kind: str  # STREAMING, BUY_TO_OWN or RENTAL
    period_end: int | None = None  # a rental's end, epoch seconds
    play_seconds: int | None = None  # a rental's play duration once started
    renewal_interval: int | None = None  # seconds between renewals; None: the license does not renew
    duration: int | None = None  # licenseDuration / rentalDuration when given and not 0 (unlimited)

    @classmethod
    def of(cls, claims: Mapping[str, Any], duration_claim: str) -> Rights:
        return cls(
            kind=claims.get("rightsType", STREAMING),
            period_end=claims.get("rentalPeriodEnd"),
            play_seconds=claims.get("rentalPlayDuration"),
            renewal_interval=claims.get("renewalInterval"),
            duration=claims.get(duration_claim) or None,
        )

    @property
    def persistent(self) -> bool:
        """The device may keep the license (offline playback)."""
        return self.kind in (BUY_TO_OWN, RENTAL)

    @property
    def renews(self) -> bool:
        return self.renewal_interval is not None

    def ended(self, now: float) -> bool:
        """A rental whose period is over: no license, first or renewed."""
        return self.period_end is not None and now >= self.period_end

    def seconds_left(self, now: float) -> int | None:
        """Whole seconds to a rental's end (at least 1 while it runs); None without an end.

        Counted from the next whole second, so a license given now never outlives the rental.
        """
        return None if self.period_end is None else max(1, self.period_end - math.ceil(now))

    def license_seconds(self, now: float) -> int | None:
        """How long a license given now may live before it must be renewed (or ends); None: no limit here.

        A renewing license lives one interval and the grace; a rental no longer than its period.
        """
        left = self.seconds_left(now)
        if self.renewal_interval is None:
            return left
        lease = self.renewal_interval + GRACE_SECONDS
        return lease if left is None else min(lease, left)

    def renewable_until(self, started_at: int) -> int:
        """The end of the renewals of a license first given at ``started_at``: its playback may last no longer.

        A rental's end; else the token's duration after the start; else MAX_RENEWING_SECONDS.
        """
        span = started_at + (self.duration or MAX_RENEWING_SECONDS)
        if self.play_seconds is not None:
            span = min(span, started_at + self.play_seconds)
        return span if self.period_end is None else min(span, self.period_end)
