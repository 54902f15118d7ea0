"""Redeem one token: open it, check it, take a use, ask the back end, and say what happened.

Knows nothing of API Gateway or of how the back end is reached. The order is the
contract's (docs/rights-api.md, section 2): a token that does not open costs nothing
and leaves no record; from the moment it opens, every outcome is recorded.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.drm import profile
from drmtoken.core.errors import USE_LIMIT_STATUS, ApiError, DependencyError, TokenOpenError
from drmtoken.core.license import CERTIFICATE, LICENSE, RELEASE, RENEWAL, Ask, License, LicenseBackend, Terms
from drmtoken.core.rights import Rights
from drmtoken.core.streams import Stream, new_stream, stream_id_of, stream_of
from drmtoken.core.token import open_token
from drmtoken.core.untrusted import for_the_log, secret_spellings
from drmtoken.core.uses import Reservation, Settled, attempt_id, reservation_of
from drmtoken.ports import RightsPorts

from .routes import RightsRoute
from .slots import free_slot, keep_slot, limited, open_slot

ISSUED = 0
# Claims a record and a log line may carry: identifiers and the caller's own cookie.
RECORDED_CLAIMS = {
    **{"tokenId": "tokenId", "customerId": "customerId", "kid": "kid", "cookie": "cookie"},
    "viewer": "viewer",  # the keyed hash of the token's userId, never the id
}


DEFAULT_BACKEND_SECONDS = 6.0


@dataclass
class RightsRequest:
    token: str | None = field(repr=False)
    body: bytes = field(repr=False)
    source_ip: str = ""
    user_agent: str = ""
    content_type: str = ""
    renewal_of: str | None = field(default=None, repr=False)  # the Drm-Renewal-Of header: a stream's ticket
    deadline: float = field(default_factory=lambda: time.monotonic() + DEFAULT_BACKEND_SECONDS)  # for the back end


@dataclass
class Redemption:
    """What became of one presented token."""

    code: int  # ISSUED, or the refusal's code (-2030: a dependency failed)
    facts: dict[str, Any]  # safe to log and to record
    license: License | None = None
    error: ApiError | None = None  # the refusal, with its reason
    failure: str | None = None  # why a dependency failed or what a back end said: the operator's log line, made safe
    record: dict[str, Any] | None = None  # what was recorded (None: the token did not open)
    unexpected: bool = False  # a bug: 500, still recorded, the use still given back
    terms: Terms | None = None  # what the license said: its stream, its rights (for the answer's headers)

    @property
    def status(self) -> int:
        if self.code == ISSUED:
            return 200
        if self.error is not None:
            return self.error.status
        return 500 if self.unexpected else 503


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
    notes: list[str] = []  # what went wrong beside the answer (a give-back that failed), for the log
    outcome: Redemption
    try:
        answer, terms = _license(route, request, claims, ports, backend, now, facts, notes)
        facts.update(answer.device)
        outcome = Redemption(ISSUED, facts, license=answer, terms=terms)
    except ApiError as error:
        said = f"the back end said: {error.backend_said}" if error.backend_said is not None else None
        outcome = Redemption(error.code, facts, error=error, failure=said)
    except DependencyError as error:
        outcome = Redemption(-2030, facts, failure=str(error))
    except Exception as error:  # a bug: the request still ends recorded, its use given back
        where = traceback.extract_tb(error.__traceback__)[-1]
        failure = f"unexpected {type(error).__name__} at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}"
        outcome = Redemption(-2030, facts, failure=failure, unexpected=True)
    if outcome.failure is not None or notes:  # the spellings are worked out only when there is text to clear
        secrets = [*secret_spellings(claims), request.token or ""]  # never in a log line, whoever said them
        outcome.failure = for_the_log("; ".join(filter(None, [outcome.failure, *notes])), secrets)
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
    notes: list[str],
) -> tuple[License, Terms]:
    if claims.get("drm") != route.redeems.value:
        raise ApiError(-4010, f"not a {route.redeems.value} token")
    ask = backend.kind_of(request.body, request.renewal_of) if request.body else Ask(LICENSE)
    facts["kind"] = ask.kind
    rights = Rights.of(claims, profile(route.redeems).duration_parameter)
    if ask.kind in (RENEWAL, RELEASE):  # no use, and the token's expiry does not apply: the license's life does
        stream = renewed_stream(ports, claims, ask, rights, now)
        facts["streamId"] = stream.stream_id
        if limited(claims) and ask.kind == RENEWAL:
            keep_slot(ports.streams, claims, stream, rights, int(now))
        elif limited(claims):  # a release frees the slot, whatever the back end says of it
            free_slot(ports.streams, claims, stream)
        terms = Terms(ask.kind, rights, now, stream)
        return backend.issue(claims, request.body, request.content_type, request.deadline, terms), terms
    if claims["expiresAt"] <= now:
        raise ApiError(-4010, "expired")
    if not request.body:
        raise ApiError(route.generation_failed, "empty body")
    if ask.kind == CERTIFICATE:
        terms = Terms(CERTIFICATE, rights, now)
        return backend.issue(claims, request.body, request.content_type, request.deadline, terms), terms
    if rights.ended(now):
        raise ApiError(-4031, "the rental period has ended")
    stream_id = stream_id_of(claims["tokenId"], request.source_ip, request.user_agent)
    stream = new_stream(ports.keyring.get(), claims["tokenId"], int(now), stream_id)
    facts["streamId"] = stream.stream_id
    terms = Terms(LICENSE, rights, now, stream)
    opened = limited(claims) and open_slot(ports.streams, claims, stream, route.drm_name, rights, int(now))
    try:
        answer = _first_license(claims, request, ports, backend, terms, notes)
    except BaseException:
        if opened:  # no license left: the slot this request opened is free again
            try:
                free_slot(ports.streams, claims, stream)
            except DependencyError as error:
                notes.append(f"stream slot not freed (it lapses by itself): {error}")
        raise
    if opened and answer.device:
        try:
            ports.streams.describe(claims["customerId"], claims["viewer"], stream_id, answer.device)
        except DependencyError as error:
            notes.append(f"stream's device not kept: {error}")
    return answer, terms


def _first_license(
    claims: Mapping[str, Any],
    request: RightsRequest,
    ports: RightsPorts,
    backend: LicenseBackend,
    terms: Terms,
    notes: list[str],
) -> License:
    """A first license, taking one of the token's uses when it has maxUses (docs/rights-api.md §7)."""
    max_uses: int | None = claims.get("maxUses")
    if max_uses is None:
        return backend.issue(claims, request.body, request.content_type, request.deadline, terms)
    now = terms.now
    token_id, attempt = claims["tokenId"], attempt_id()
    reservation = reservation_of(token_id, request.body, request.source_ip, request.user_agent)
    held = ports.uses.reserve(token_id, max_uses, claims["expiresAt"], reservation, attempt, int(now))
    if held is Reservation.BUSY:  # the last use is held by a request in flight: it may come back
        raise DependencyError("use limit: the last use is held by a request in flight")
    if held is Reservation.SPENT:
        raise ApiError(-4010, "use limit reached", status_override=USE_LIMIT_STATUS)
    try:
        license_answer = backend.issue(claims, request.body, request.content_type, request.deadline, terms)
        if ports.uses.settle(token_id, reservation, attempt) is Settled.LOST:
            raise DependencyError("use limit: a retry of this request took its use over")
    except BaseException:
        # No license leaves: the use goes back. If the give-back fails, the use stays held under
        # this request's reservation, and the player's retry (the same bytes) takes it over.
        try:
            ports.uses.give_back(token_id, reservation, attempt)
        except DependencyError as error:
            notes.append(f"use not given back: {error}")
        raise
    return license_answer


def renewed_stream(ports: RightsPorts, claims: Mapping[str, Any], ask: Ask, rights: Rights, now: float) -> Stream:
    """The stream a renewal or release names, checked without a database call; -4030 or -4031 when refused.

    A release may end any license this token gave; a renewal only a renewing one, and only
    while that license may live (never past a rental's end).
    """
    if ask.kind == RENEWAL and not rights.renews:
        raise ApiError(-4030, "this token's licenses do not renew")
    stream = stream_of(ports.keyring.get(), claims["tokenId"], ask.renews)
    if ask.kind == RENEWAL and now >= rights.renewable_until(stream.started_at):
        raise ApiError(-4031, "the rental period has ended" if rights.ended(now) else "its renewals are over")
    return stream


def record_of(outcome: Redemption, request: RightsRequest, now: float) -> dict[str, Any]:
    """The record of a redemption whose token opened: the contract's fields, nothing secret."""
    return {
        "time": int(now * 1000),
        **outcome.facts,
        "status": outcome.status,
        "code": outcome.code,
        "sourceIp": request.source_ip,
        "userAgent": request.user_agent[:256],
    }
