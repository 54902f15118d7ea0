"""Issue one token: validate, charge once, seal; return what happened. Knows nothing of API Gateway."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.account import Authenticator, uniform_authentication_failures
from drmtoken.core.drm import Drm, DrmProfile, profile
from drmtoken.core.errors import ApiError, DependencyError
from drmtoken.core.heldkeys import MAX_KEYS_PER_TOKEN, HeldKey
from drmtoken.core.keys import KeySource, decide_key_source, held_key_claims, unwrap_content_key
from drmtoken.core.params import DEFAULT_EXPIRATION, Expiration, RawParams, parse_parameters
from drmtoken.core.rights import check_rights, rights_claims
from drmtoken.core.slots import check_stream_limit, viewer_of
from drmtoken.core.token import seal_token
from drmtoken.ports import TokenPorts

from .params import ROUTE_PARAMETERS

# Parameters that shape the token but are not policy claims of their own.
_NOT_CLAIMS = {
    "customerAuthenticator",
    "contentKey",
    "kek",
    "ek",
    "expirationTime",
    "wvExtension",
    "fpExtension",
    "rightsType",  # the rights parameters become the claims of rights_claims
    "rental.periodEndTime",
    "rental.playDuration",
    "renewalInterval",
    "userId",  # never kept raw: the token carries the viewer's keyed hash (core.slots.viewer_of)
}
# Claims safe to log: identifiers and the caller's own cookie, never key material.
LOGGABLE_CLAIMS = (
    *("tokenId", "customerId", "environment", "kid", "cookie", "contentId", "expiresAt", "rightsType"),
    "viewer",  # the keyed hash of userId, never the id
)
ISSUED = 0


@dataclass
class Outcome:
    """What became of one token request."""

    drm: Drm
    code: int  # ISSUED, or the code of the refusal (-2030: a dependency failed)
    facts: dict[str, Any]  # what is known about the request, safe to log: ids, kid, cookie, expiry
    url: str | None = None  # the license URL with the token, when issued
    error: ApiError | None = None  # the refusal, whose reason (never a value sent) follows the table's message
    claims: dict[str, Any] | None = field(default=None, repr=False)  # holds the content key
    failure: str | None = None  # why a dependency failed, for the operator's log line

    @property
    def issued(self) -> bool:
        return self.code == ISSUED


def issue_token(
    drm: Drm,
    raw: RawParams,
    runtime: TokenPorts,
    now: float,
    clock: Callable[[], float] = time.time,
    own_base: str = "",
) -> Outcome:
    """Validate, charge once, seal. ``now`` is the request's arrival; ``clock`` reads the time of sealing.

    Everything that can refuse the request runs before the charge, so a request that ends
    in an error never takes allowance: parameters, expiry, the keyring and the stored key.
    Unexpected exceptions propagate: they are bugs, not outcomes.
    """
    facts: dict[str, Any] = {}
    try:
        url, claims = _issue(profile(drm), raw, runtime, now, clock, facts, own_base)
    except ApiError as error:
        return Outcome(drm, error.code, facts, error=error)
    except DependencyError as error:
        return Outcome(drm, -2030, facts, failure=str(error))
    loggable = {name: claims[name] for name in LOGGABLE_CLAIMS if name in claims}
    return Outcome(drm, ISSUED, {**facts, **loggable}, url=url, claims=claims)


def _issue(
    drm: DrmProfile,
    raw: RawParams,
    runtime: TokenPorts,
    now: float,
    clock: Callable[[], float],
    facts: dict[str, Any],
    own_base: str,
) -> tuple[str, dict[str, Any]]:
    values = parse_parameters(raw, ROUTE_PARAMETERS[drm.drm])
    authenticator: Authenticator = values["customerAuthenticator"]
    known = {"customerId": authenticator.customer_id, "kid": values.get("kid"), "cookie": values.get("cookie")}
    facts.update({name: value for name, value in known.items() if value is not None})
    key_source = decide_key_source(values, drm)
    expiration: Expiration = values.get("expirationTime", DEFAULT_EXPIRATION)
    expiration.resolve(now)  # refuses a past or too distant expiry before anything is counted
    check_rights(values, drm.duration_parameter, now)
    check_stream_limit(values)
    if "userId" in values:
        values["viewer"] = viewer_of(runtime.viewer_key.get(), authenticator.customer_id, values["userId"])

    settings = runtime.settings
    route = settings.route(drm.drm)
    keyring = runtime.keyring.get()
    token_id = secrets.token_hex(16)  # also the charge's idempotency token
    with uniform_authentication_failures():
        held: list[HeldKey] = []
        content_key = key_source.content_key
        if key_source.held:
            held = _held_keys(runtime, authenticator, drm, key_source)
        elif content_key is None:
            content_key = _stored_content_key(runtime, authenticator, drm, values["kid"], key_source.stored_kek)
        shard = runtime.accounts.charge(authenticator, settings.environment, drm, route.enabled, token_id)

    issued_at = clock()
    try:
        expires_at = expiration.resolve(issued_at, earliest_issue=now)
    except ApiError:
        # An absolute expiry that passed while the charge was under way: give the token back.
        runtime.accounts.refund(authenticator.customer_id, settings.environment, token_id, shard)
        raise
    claims = build_claims(
        drm, values, token_id, authenticator.customer_id, settings.environment, issued_at, expires_at, content_key, held
    )
    token = seal_token(keyring, drm.drm.value, claims)
    # No license URL configured: this deployment's own rights route, where the caller reached it.
    license_url = route.license_url or f"{own_base}/hms/{drm.drm.value}/rights/"
    return f"{license_url}?ExpressPlayToken={token}", claims


def _stored_content_key(
    runtime: TokenPorts, authenticator: Authenticator, drm: DrmProfile, kid: str, kek: bytes | None
) -> bytes:
    """The kek + kid form: unwrap the key stored for (customer, kid), before anything is counted.

    When no key can be had, the caller learns -4019 only once the account has accepted it:
    anyone else gets the account's refusal (-2018 for a stranger), stored key or not.
    """
    assert kek is not None
    wrapped = runtime.keys.wrapped_key(authenticator.customer_id, kid)
    try:
        if wrapped is None:
            raise ApiError(-4019)
        return unwrap_content_key(kek, wrapped, -4019)
    except ApiError:
        raise _no_key(runtime, authenticator, drm, STORED_NONE) from None


def _held_keys(runtime: TokenPorts, authenticator: Authenticator, drm: DrmProfile, source: KeySource) -> list[HeldKey]:
    """The held-key form: the one key of ``kid``, or every key of ``contentId``, before anything is counted."""
    customer_id = authenticator.customer_id
    if source.held_kid is not None:
        key = runtime.held_keys.by_kid(customer_id, source.held_kid)
        keys = [key] if key is not None else []
    else:
        assert source.held_content is not None
        keys = runtime.held_keys.by_content(customer_id, source.held_content, MAX_KEYS_PER_TOKEN + 1)
    if not keys or len(keys) > MAX_KEYS_PER_TOKEN:
        raise _no_key(runtime, authenticator, drm, HELD_NONE if not keys else HELD_TOO_MANY)
    return keys


# What -4019 says for each form: which found no key, and what to give instead.
STORED_NONE = "none stored for this kid that this kek unwraps"
HELD_NONE = (
    "none held for this kid or contentId (keys are held once a packager asked the key provider);"
    " or give contentKey, or kek with ek or a stored kid"
)
HELD_TOO_MANY = f"the title holds more than {MAX_KEYS_PER_TOKEN} keys: ask by kid"


def _no_key(runtime: TokenPorts, authenticator: Authenticator, drm: DrmProfile, detail: str) -> ApiError:
    """-4019 for a caller the account accepts; anyone else gets the account's refusal (-2018 for a stranger)."""
    settings = runtime.settings
    enabled = settings.route(drm.drm).enabled
    code = runtime.accounts.refusal(authenticator, settings.environment, drm, enabled)
    return ApiError(code) if code is not None else ApiError(-4019, detail)


def build_claims(
    drm: DrmProfile,
    values: dict[str, Any],
    token_id: str,
    customer_id: str,
    environment: str,
    issued_at: float,
    expires_at: int,
    content_key: bytes | None,
    held: list[HeldKey] | None = None,
) -> dict[str, Any]:
    """The token's claims: one given key (``kid`` + ``contentKey``), or the held keys as ``keys``."""
    claims: dict[str, Any] = {
        "tokenId": token_id,
        "drm": drm.drm.value,
        "customerId": customer_id,
        "environment": environment,
        "issuedAt": int(issued_at),
        "expiresAt": expires_at,
    }
    if held:
        claims["keys"] = held_key_claims(held)
        claims["iv"] = held[0].iv.hex()  # the single-key field, for KSMs that read only it; a given iv wins below
    else:
        assert content_key is not None
        claims["contentKey"] = content_key.hex()
    for name, value in values.items():
        if name not in _NOT_CLAIMS:
            claims[name] = value.hex() if isinstance(value, bytes) else value
    claims.update(rights_claims(values, issued_at))
    for name, default in drm.claim_defaults.items():
        claims.setdefault(name, default)
    claims["extensions"] = values.get(drm.extension_parameter, [])
    return claims
