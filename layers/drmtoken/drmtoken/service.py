"""Issue one token: validate, charge the account, seal. Knows nothing of API Gateway."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .keys import decide_key_source, unwrap_content_key
from .params import DEFAULT_EXPIRATION, Authenticator, Drm, Expiration, parse_parameters
from .request import RawParams
from .runtime import Runtime
from .token import seal_token

AUTHENTICATION_FAILURE_FLOOR = 0.025  # seconds; see uniform_authentication_failures

# Parameters that shape the token but are not policy claims of their own.
_NOT_CLAIMS = {"customerAuthenticator", "contentKey", "kek", "ek", "expirationTime", "wvExtension", "fpExtension"}
EXTENSION_PARAMETER = {Drm.WIDEVINE: "wvExtension", Drm.FAIRPLAY: "fpExtension"}
# Claims safe to log: identifiers and the caller's own cookie, never key material.
LOGGABLE_CLAIMS = ("tokenId", "customerId", "environment", "kid", "cookie", "contentId", "expiresAt")


@dataclass
class IssuedToken:
    url: str
    claims: dict[str, Any] = field(repr=False)

    def loggable(self) -> dict[str, Any]:
        return {k: self.claims[k] for k in LOGGABLE_CLAIMS if k in self.claims}


@dataclass
class RequestContext:
    """What is known about the request so far, for its log line."""

    request_id: str = ""  # API Gateway's
    lambda_request_id: str = ""
    customer_id: str | None = None
    kid: str | None = None
    cookie: str | None = None

    def loggable(self) -> dict[str, Any]:
        known = {"customerId": self.customer_id, "kid": self.kid, "cookie": self.cookie}
        ids = {"requestId": self.request_id, "lambdaRequestId": self.lambda_request_id}
        return {**ids, **{name: value for name, value in known.items() if value is not None}}


def issue_token(
    drm: Drm,
    raw: RawParams,
    runtime: Runtime,
    now: float,
    context: RequestContext,
    clock: Callable[[], float] = time.time,
) -> IssuedToken:
    """Validate, charge once, seal. ``now`` is the request's arrival; ``clock`` reads the time of sealing.

    Everything that can refuse the request runs before the charge, so a request that ends
    in an error never takes allowance: parameters, expiry, the keyring and the stored key.
    """
    values = parse_parameters(raw, drm)
    authenticator: Authenticator = values["customerAuthenticator"]
    context.customer_id, context.kid, context.cookie = (
        authenticator.customer_id,
        values.get("kid"),
        values.get("cookie"),
    )
    key_source = decide_key_source(values, drm)
    expiration: Expiration = values.get("expirationTime", DEFAULT_EXPIRATION)
    expiration.resolve(now)  # refuses a past or too distant expiry before anything is counted

    settings = runtime.settings
    route = settings.route(drm)
    keyring = runtime.keyring.get()
    token_id = secrets.token_hex(16)  # also the charge's idempotency token
    with uniform_authentication_failures():
        content_key = key_source.content_key
        if content_key is None:
            content_key = _stored_content_key(runtime, authenticator, drm, values["kid"], key_source.stored_kek)
        runtime.store.charge_token(authenticator, settings.environment, drm, route.enabled, token_id)

    issued_at = clock()
    try:
        expires_at = expiration.resolve(issued_at, earliest_issue=now)
    except ApiError:
        # An absolute expiry that passed while the charge was under way: give the token back.
        runtime.store.refund_token(authenticator.customer_id, settings.environment, token_id)
        raise
    claims = build_claims(
        drm, values, token_id, authenticator.customer_id, settings.environment, issued_at, expires_at, content_key
    )
    token = seal_token(keyring, drm.value, claims)
    return IssuedToken(url=f"{route.license_url}?ExpressPlayToken={token}", claims=claims)


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


def _stored_content_key(runtime: Runtime, authenticator: Authenticator, drm: Drm, kid: str, kek: bytes | None) -> bytes:
    """The kek + kid form: unwrap the key stored for (customer, kid), before anything is counted.

    When no key can be had, the caller learns -4019 only once the account has accepted it:
    anyone else gets the account's refusal (-2018 for a stranger), stored key or not.
    """
    assert kek is not None
    store, settings = runtime.store, runtime.settings
    wrapped = store.get_wrapped_key(authenticator.customer_id, kid)
    try:
        if wrapped is None:
            raise ApiError(-4019)
        return unwrap_content_key(kek, wrapped, -4019)
    except ApiError:
        refusal = store.account_refusal(authenticator, settings.environment, drm, settings.route(drm).enabled)
        raise ApiError(refusal or -4019) from None


def build_claims(
    drm: Drm,
    values: dict[str, Any],
    token_id: str,
    customer_id: str,
    environment: str,
    issued_at: float,
    expires_at: int,
    content_key: bytes,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "tokenId": token_id,
        "drm": drm.value,
        "customerId": customer_id,
        "environment": environment,
        "issuedAt": int(issued_at),
        "expiresAt": expires_at,
        "contentKey": content_key.hex(),
    }
    for name, value in values.items():
        if name not in _NOT_CLAIMS:
            claims[name] = value.hex() if isinstance(value, bytes) else value
    if drm is Drm.FAIRPLAY:
        claims.setdefault("rentalDuration", 0)
    claims["extensions"] = values.get(EXTENSION_PARAMETER[drm], [])
    return claims
