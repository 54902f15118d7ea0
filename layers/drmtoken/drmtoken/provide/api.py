"""The key provider's HTTP face: POST /speke/{customerId}, SPEKE's headers, one log line per request.

API Gateway has already checked the packager's SigV4 signature against the IAM policy
that allows it this customer's path (``drmtoken keys iam-policy``).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

from drmtoken.apigw.responses import NO_STORE
from drmtoken.core.cpix import MAX_CPIX_BYTES
from drmtoken.observability import KEY_METRICS, lambda_entry, logger, record_request
from drmtoken.runtime import get_provider_ports

from .service import PROVIDED, Provided, provide_keys

USER_AGENT = "drmtoken-key-provider/1"
ROUTE = "speke"  # the line's drm dimension


def handle_key_request(event: dict[str, Any], lambda_request_id: str = "") -> dict[str, Any]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    ids = {
        "requestId": str((event.get("requestContext") or {}).get("requestId") or ""),
        "lambdaRequestId": lambda_request_id,
    }
    speke_version = headers.get("x-speke-version")
    customer_id = str((event.get("pathParameters") or {}).get("customerId") or "")
    method = str(event.get("httpMethod") or "").upper()
    if method != "POST":
        outcome = Provided(405, speke_version, {}, body=b"Method not allowed: POST a CPIX document")
        return _answer(outcome, {"Allow": "POST"})
    body = _body(event)
    try:
        if body is None:
            outcome = Provided(413, speke_version, {}, body=f"Body over {MAX_CPIX_BYTES // 1024} KiB".encode())
        else:
            outcome = provide_keys(customer_id, body, speke_version, get_provider_ports(), int(time.time()))
    except Exception:
        logger.exception("unexpected failure", extra={**ids, "drm": ROUTE})
        outcome = Provided(500, speke_version, {}, body=b"Internal error")
    facts = {**ids, **outcome.facts}
    if outcome.failure is not None:
        logger.warning("dependency failed", extra={**facts, "drm": ROUTE, "reason": outcome.failure})
    code = 0 if outcome.status == PROVIDED else -2030 if outcome.status >= 500 else outcome.status
    record_request(ROUTE, code, outcome.status, facts, KEY_METRICS)
    return _answer(outcome)


def _answer(outcome: Provided, extra: dict[str, str] | None = None) -> dict[str, Any]:
    version = outcome.speke_version or "1.0"
    headers = {"Cache-Control": NO_STORE, **(extra or {})}
    if version == "1.0":
        headers["Speke-User-Agent"] = USER_AGENT
    else:
        headers.update({"X-Speke-Version": version, "X-Speke-User-Agent": USER_AGENT})
    headers["Content-Type"] = "application/xml" if outcome.status == PROVIDED else "text/plain; charset=utf-8"
    return {"statusCode": outcome.status, "headers": headers, "body": outcome.body.decode("utf-8")}


def _body(event: dict[str, Any]) -> bytes | None:
    """The request body as bytes (API Gateway passes it base64), None when over the bound or undecodable."""
    text = event.get("body") or ""
    if len(text) > MAX_CPIX_BYTES * 4 // 3 + 4:
        return None
    if not event.get("isBase64Encoded"):
        return text.encode("utf-8", errors="surrogatepass")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""  # not a document: refused as an empty body
    return raw if len(raw) <= MAX_CPIX_BYTES else None


def lambda_handler_for() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_key_request(event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)
