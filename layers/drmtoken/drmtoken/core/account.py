"""Customers as the token routes see them: authenticators, accounts, and the order of refusals.

The DynamoDB write checks the same conditions atomically (``adapters.dynamodb``); this
module says, from the account DynamoDB returns with a failed condition, which check
failed first, so the answer follows the contract's order (docs/token-api.md, section 6).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .drm import DrmProfile
from .errors import ApiError

ENVIRONMENTS = ("test", "prod")
AUTHENTICATION_FAILURE_FLOOR = 0.025  # seconds; see uniform_authentication_failures
ACTIVE = "active"
DISABLED = "disabled"


@dataclass(frozen=True)
class Authenticator:
    customer_id: str
    secret: str  # lower-case hex; only its SHA-256 ever leaves this process

    def __repr__(self) -> str:  # keep the secret out of any accidental log line
        return f"Authenticator(customer_id={self.customer_id!r})"

    @property
    def secret_hash(self) -> str:
        return hash_secret(self.secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.lower().encode("ascii")).hexdigest()


@dataclass
class Account:
    """A customer in plain Python values."""

    customer_id: str
    status: str
    entitlements: dict[str, bool]
    authenticator_hashes: dict[str, set[str]] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int | None] = field(default_factory=dict)
    shards: int = 1  # shard items requests charge (docs/data-model.md, "Shards")

    def authentication_refusal(self, secret_hash: str, environment: str) -> int | None:
        """-2018 or -2031 when this caller may not act for the account at all, else None."""
        if secret_hash not in self.authenticator_hashes.get(environment, set()):
            return -2018
        if self.status != ACTIVE:
            return -2031
        return None

    def refusal(self, secret_hash: str, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The first account check that fails, or None when a token may be issued."""
        if (code := self.authentication_refusal(secret_hash, environment)) is not None:
            return code
        if not self.entitlements.get(drm.entitlement, False):
            return drm.not_entitled
        if not drm_enabled:
            return drm.switched_off
        limit = self.limits.get(environment)
        if limit is not None and self.issued.get(environment, 0) >= limit:
            return -2019
        return None

    def summary(self) -> dict[str, Any]:
        """What an operator may see: counts, never hashes."""
        return {
            "customerId": self.customer_id,
            "status": self.status,
            "entitlements": self.entitlements,
            "shards": self.shards,
            "environments": {
                e: {
                    "tokensIssued": self.issued.get(e, 0),
                    "tokenLimit": self.limits.get(e),
                    "liveAuthenticators": len(self.authenticator_hashes.get(e, set())),
                }
                for e in ENVIRONMENTS
            },
        }


# An unknown customer is judged on an account of the same shape with no live authenticator:
# it costs what a wrong secret costs, and can only be refused -2018.
UNKNOWN_ACCOUNT = Account(customer_id="", status=DISABLED, entitlements={}, issued=dict.fromkeys(ENVIRONMENTS, 0))


def refusal_of(
    account: Account | None, secret_hash: str, environment: str, drm: DrmProfile, drm_enabled: bool
) -> int | None:
    return (account or UNKNOWN_ACCOUNT).refusal(secret_hash, environment, drm, drm_enabled)


@contextlib.contextmanager
def uniform_authentication_failures(floor: float | None = None) -> Iterator[None]:
    """A -2018 from the account is answered no sooner than ``floor`` seconds after the account call began.

    DynamoDB returns the customer's item with a failed condition when the customer exists
    (wrong secret) and nothing when it does not; parsing that item alone costs botocore
    ~40 us, enough for a caller timing many refusals to learn which customer ids exist.
    Both refusals wait out the same floor, far above that difference and above a usual
    DynamoDB round trip. Only refusals pay it; a brute-force caller is slowed as well.
    """
    started = time.monotonic()
    try:
        yield
    except ApiError as error:
        if error.code == -2018:
            remaining = started + (AUTHENTICATION_FAILURE_FLOOR if floor is None else floor) - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        raise
