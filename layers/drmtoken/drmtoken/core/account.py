"""Customers as the token routes see them: authenticators, accounts, and the order of refusals.

The DynamoDB write checks the same conditions atomically (``adapters.dynamodb``); this
module says, from the account DynamoDB returns with a failed condition, which check
failed first, so the answer follows the contract's order (docs/token-api.md, section 6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .drm import DrmProfile

ENVIRONMENTS = ("test", "prod")
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

    def refusal(self, secret_hash: str, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The first account check that fails, or None when a token may be issued."""
        if secret_hash not in self.authenticator_hashes.get(environment, set()):
            return -2018
        if self.status != ACTIVE:
            return -2031
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
