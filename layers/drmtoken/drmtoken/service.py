"""Issue one token: validate, charge the account, seal. Knows nothing of API Gateway."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .keys import decide_key_source, unwrap_content_key
from .params import DEFAULT_EXPIRATION, Authenticator, Drm, parse_parameters
from .request import RawParams
from .runtime import Runtime
from .token import seal_token

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


def issue_token(drm: Drm, raw: RawParams, runtime: Runtime, now: float, context: RequestContext) -> IssuedToken:
    values = parse_parameters(raw, drm)
    authenticator: Authenticator = values["customerAuthenticator"]
    context.customer_id, context.kid, context.cookie = (
        authenticator.customer_id,
        values.get("kid"),
        values.get("cookie"),
    )
    key_source = decide_key_source(values, drm)
    expires_at = values.get("expirationTime", DEFAULT_EXPIRATION).resolve(now)

    settings = runtime.settings
    route = settings.route(drm)
    keyring = runtime.keyring.get()  # before charging: a keyring failure must not cost a token
    runtime.store.charge_token(authenticator, settings.environment, drm, route.enabled)

    content_key = key_source.content_key
    if content_key is None:
        content_key = _stored_content_key(runtime, authenticator.customer_id, values["kid"], key_source.stored_kek)

    claims = build_claims(drm, values, authenticator.customer_id, settings.environment, now, expires_at, content_key)
    token = seal_token(keyring, drm.value, claims)
    return IssuedToken(url=f"{route.license_url}?ExpressPlayToken={token}", claims=claims)


def _stored_content_key(runtime: Runtime, customer_id: str, kid: str, kek: bytes | None) -> bytes:
    """The kek + kid form: unwrap the key stored for (customer, kid); refund the token if that fails."""
    assert kek is not None
    wrapped = runtime.store.get_wrapped_key(customer_id, kid)
    try:
        if wrapped is None:
            raise ApiError(-4019)
        return unwrap_content_key(kek, wrapped, -4019)
    except ApiError:
        runtime.store.refund_token(customer_id, runtime.settings.environment)
        raise


def build_claims(
    drm: Drm,
    values: dict[str, Any],
    customer_id: str,
    environment: str,
    now: float,
    expires_at: int,
    content_key: bytes,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "tokenId": secrets.token_hex(16),
        "drm": drm.value,
        "customerId": customer_id,
        "environment": environment,
        "issuedAt": int(now),
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
