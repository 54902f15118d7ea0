"""Redeem one token: open it, check it, take a use, ask the back end, and say what happened.

Knows nothing of API Gateway or of how the back end is reached. The order is the
contract's (docs/rights-api.md, section 2): a token that does not open costs nothing
and leaves no record; from the moment it opens, every outcome is recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.errors import USE_LIMIT_STATUS, ApiError, DependencyError, TokenOpenError
from drmtoken.core.license import CERTIFICATE, LICENSE, License, LicenseBackend
from drmtoken.core.token import open_token
from drmtoken.ports import RightsPorts

from .routes import RightsRoute

ISSUED = 0
# Claims a record and a log line may carry: identifiers and the caller's own cookie.
RECORDED_CLAIMS = {"tokenId": "tokenId", "customerId": "customerId", "kid": "kid", "cookie": "cookie"}


@dataclass
class RightsRequest:
    token: str | None = field(repr=False)
    body: bytes = field(repr=False)
    source_ip: str = ""
    user_agent: str = ""
    content_type: str = ""


@dataclass
class Redemption:
    """What became of one presented token."""

    code: int  # ISSUED, or the refusal's code (-2030: a dependency failed)
    facts: dict[str, Any]  # safe to log and to record
    license: License | None = None
    error: ApiError | None = None  # the refusal, with its reason
    failure: str | None = None  # why a dependency failed, for the operator's log line
    record: dict[str, Any] | None = None  # what was recorded (None: the token did not open)


def redeem(
    route: RightsRoute, request: RightsRequest, ports: RightsPorts, backend: LicenseBackend, now: float
) -> Redemption:
    """The whole redemption of one request; never raises for a refusal or a failed dependency."""
    try:
        claims = _open(request.token, ports)
    except ApiError as error:
        return Redemption(error.code, {}, error=error)
    except DependencyError as error:
        return Redemption(-2030, {}, failure=str(error))

    facts = {name: claims[claim] for name, claim in RECORDED_CLAIMS.items() if claim in claims}
    facts.update(drm=route.name, kind=LICENSE)
    outcome: Redemption
    try:
        answer = _license(route, request, claims, ports, backend, now, facts)
        facts.update(answer.device)
        outcome = Redemption(ISSUED, facts, license=answer)
    except ApiError as error:
        outcome = Redemption(error.code, facts, error=error)
    except DependencyError as error:
        outcome = Redemption(-2030, facts, failure=str(error))
    outcome.record = record_of(outcome, request, now)
    return outcome


def _open(token: str | None, ports: RightsPorts) -> dict[str, Any]:
    if not token:
        raise ApiError(-4010, "no token")
    try:
        # DRM and expiry are checked by the caller, after the token is known to be authentic.
        return open_token(ports.keyring.get(), token, drm=None, now=float("-inf"))
    except TokenOpenError as error:
        raise ApiError(-4010, error.detail) from None


def _license(
    route: RightsRoute,
    request: RightsRequest,
    claims: Mapping[str, Any],
    ports: RightsPorts,
    backend: LicenseBackend,
    now: float,
    facts: dict[str, Any],
) -> License:
    if claims.get("drm") != route.redeems.value:
        raise ApiError(-4010, f"not a {route.redeems.value} token")
    if claims["expiresAt"] <= now:
        raise ApiError(-4010, "expired")
    if not request.body:
        raise ApiError(route.generation_failed, "empty body")
    facts["kind"] = backend.kind_of(request.body)
    max_uses: int | None = claims.get("maxUses")
    counted = facts["kind"] != CERTIFICATE and max_uses is not None
    reservation = secrets.token_hex(16)  # the reservation's idempotency token
    if counted and not ports.uses.reserve(claims["tokenId"], max_uses or 0, claims["expiresAt"], reservation):
        raise ApiError(-4010, "use limit reached", status_override=USE_LIMIT_STATUS)
    try:
        return backend.issue(claims, request.body, request.content_type)
    except (ApiError, DependencyError):
        if counted:  # no license came of it: the player's retry must find the use again
            ports.uses.give_back(claims["tokenId"], reservation)
        raise


def record_of(outcome: Redemption, request: RightsRequest, now: float) -> dict[str, Any]:
    """The record of a redemption whose token opened: the contract's fields, nothing secret."""
    status = 200 if outcome.code == ISSUED else outcome.error.status if outcome.error else 503
    return {
        "time": int(now * 1000),
        **outcome.facts,
        "status": status,
        "code": outcome.code,
        "sourceIp": request.source_ip,
        "userAgent": request.user_agent[:256],
    }
