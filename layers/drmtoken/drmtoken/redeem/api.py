"""The rights routes' HTTP face: CORS, the request's bytes and token, redeem, the record, one log line."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from typing import Any

from drmtoken.apigw.responses import NO_STORE, error_response
from drmtoken.core.errors import DependencyError
from drmtoken.core.license import RENEWAL_HEADER, LicenseBackend
from drmtoken.observability import LICENSE_METRICS, lambda_entry, logger, record_request
from drmtoken.ports import RightsPorts
from drmtoken.runtime import get_rights_ports

from .routes import RIGHTS_ROUTES, RightsRoute
from .service import Redemption, RightsRequest, redeem

ALLOWED_METHODS = ("POST", "OPTIONS")
MAX_BODY_BYTES = 64 * 1024
BACKEND_SECONDS = 6.0  # the most a back end is given
AFTER_BACKEND_SECONDS = 2.0  # kept back from the function's time for the give-back, the record and the answer
RETRY_AFTER = {"Retry-After": "1"}  # on a 503: the player may try again at once
TOKEN_PARAMETER = "ExpressPlayToken"  # noqa: S105 - a parameter name; in the query, else a header
STREAM_HEADER = "Drm-Stream-Id"  # a license's stream ticket: a FairPlay or Clear Key renewal sends it back
INTERVAL_HEADER = "Drm-Renewal-Interval"  # seconds until a renewing license is to be renewed
PREFLIGHT = {
    "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
    "Access-Control-Allow-Headers": f"Content-Type, ExpressPlayToken, {RENEWAL_HEADER}",
    "Access-Control-Max-Age": "86400",
}
EXPOSED = {"Access-Control-Expose-Headers": f"{STREAM_HEADER}, {INTERVAL_HEADER}"}  # for a browser's player


BackendFor = Callable[[RightsPorts], "LicenseBackend | None"]  # None: the route is not served on this deployment


def handle_rights_request(
    route: RightsRoute,
    backend_for: BackendFor,
    event: dict[str, Any],
    lambda_request_id: str = "",
    seconds_left: float | None = None,
) -> dict[str, Any]:
    """One rights request; ``seconds_left`` is the function's remaining time (Lambda's context), if known."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    ids = {"requestId": request_id, "lambdaRequestId": lambda_request_id}
    try:
        ports = get_rights_ports()
    except Exception:  # a deployment setting is wrong (Clear Key on prod, say): a bug to fix, not a request's fault
        logger.exception("unusable deployment settings", extra={**ids, "drm": route.name})
        record_request(route.name, -2030, 500, ids, LICENSE_METRICS)
        return error_response(-2030, "json", request_id, unexpected=True)
    cors = cors_headers(ports.settings.allowed_origins, headers.get("origin"))
    method = str(event.get("httpMethod") or "").upper()
    backend = backend_for(ports)
    if backend is None:  # Clear Key switched off, or no Widevine provider / KSM configured: no route, no preflight
        return error_response(-1000, "json", request_id, cors)
    if method == "OPTIONS":  # the preflight of every license POST: no token is opened, nothing is called
        return {"statusCode": 204, "headers": {**cors, **PREFLIGHT, "Cache-Control": NO_STORE}, "body": ""}
    if method != "POST":
        return error_response(-1001, "json", request_id, {**cors, "Allow": ", ".join(ALLOWED_METHODS)})
    body = body_bytes(event)
    if body is None:
        record_request(route.name, -1002, 400, ids, LICENSE_METRICS)
        return error_response(-1002, "json", request_id, cors)

    request = RightsRequest(
        token=token_of(event, headers),
        body=body,
        source_ip=str(((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp") or ""),
        user_agent=headers.get("user-agent", ""),
        content_type=headers.get("content-type", ""),
        renewal_of=headers.get(RENEWAL_HEADER.lower()),
        deadline=time.monotonic() + backend_seconds(seconds_left),
    )
    try:
        outcome = redeem(route, request, ports, backend, time.time())
    except Exception:  # redeem answers every failure itself; this is a bug before the token opened
        logger.exception("unexpected failure", extra={**ids, "drm": route.name})
        record_request(route.name, -2030, 500, ids, LICENSE_METRICS)
        return error_response(-2030, "json", request_id, cors, unexpected=True)

    facts = {**ids, **outcome.facts}
    if outcome.record is not None:
        try:
            ports.records.put(outcome.record, ports.settings.record_retention_seconds)
        except DependencyError as failed:  # the license is still delivered; the line below keeps the facts
            logger.warning("record not written", extra={**facts, "reason": str(failed)})
    if outcome.failure is not None:  # already made safe: no key, IV or token in any spelling, bounded
        message = "unexpected failure" if outcome.unexpected else "dependency failed or refused"
        logger.warning(message, extra={**facts, "drm": route.name, "reason": outcome.failure})
    if outcome.license is None:
        record_request(route.name, outcome.code, outcome.status, facts, LICENSE_METRICS)
        if outcome.unexpected:
            return error_response(-2030, "json", request_id, cors, unexpected=True)
        if outcome.error is None:  # a dependency failed: the player may retry, and its use is there for it
            return error_response(-2030, "json", request_id, {**cors, **RETRY_AFTER})
        return error_response(outcome.code, "json", request_id, cors, error=outcome.error)
    record_request(route.name, 0, 200, facts, LICENSE_METRICS)
    return license_response(outcome.license.body, outcome.license.content_type, {**cors, **stream_headers(outcome)})


def stream_headers(outcome: Redemption) -> dict[str, str]:
    """A license's stream, for the renewals of DRMs that have no renewal message; its interval when it renews."""
    terms = outcome.terms
    if terms is None or terms.stream is None:
        return {}
    headers = {**EXPOSED, STREAM_HEADER: terms.stream.ticket}
    if terms.rights.renewal_interval is not None:
        headers[INTERVAL_HEADER] = str(terms.rights.renewal_interval)
    return headers


def backend_seconds(seconds_left: float | None) -> float:
    """How long a back end may take: at most BACKEND_SECONDS, and never into the time the end needs."""
    if seconds_left is None:
        return BACKEND_SECONDS
    return max(0.0, min(BACKEND_SECONDS, seconds_left - AFTER_BACKEND_SECONDS))


def cors_headers(allowed: tuple[str, ...], origin: str | None) -> dict[str, str]:
    """Access-Control-Allow-Origin for this request: * when any origin may call, else the caller's if listed."""
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*"}
    if origin and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def token_of(event: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    values = (event.get("multiValueQueryStringParameters") or {}).get(TOKEN_PARAMETER) or []
    single = (event.get("queryStringParameters") or {}).get(TOKEN_PARAMETER)
    return next((v for v in [*values, single] if v), None) or headers.get(TOKEN_PARAMETER.lower()) or None


def body_bytes(event: Mapping[str, Any]) -> bytes | None:
    """The request body as bytes (API Gateway sends binary bodies base64-encoded); None when unusable or too large."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            return None
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    return raw if len(raw) <= MAX_BODY_BYTES else None


def license_response(body: bytes, content_type: str, cors: dict[str, str]) -> dict[str, Any]:
    """A license as API Gateway passes it on: JSON as text, anything else base64-encoded bytes."""
    headers = {**cors, "Content-Type": content_type, "Cache-Control": NO_STORE}
    if content_type == "application/json":
        return {"statusCode": 200, "headers": headers, "body": body.decode("utf-8")}
    return {
        "statusCode": 200,
        "headers": headers,
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def lambda_handler_for(route_name: str, backend_for: BackendFor) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of one rights route; ``backend_for`` builds (or caches) its back end."""
    route = RIGHTS_ROUTES[route_name]

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        seconds_left = remaining() / 1000 if callable(remaining) else None
        request_id = str(getattr(context, "aws_request_id", ""))
        return handle_rights_request(route, backend_for, event, request_id, seconds_left)

    return lambda_entry(lambda_handler)
