"""The FairPlay rights function: licenses (CKCs) through the customer's KSM, and the application certificate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drmtoken.apigw.responses import error_response
from drmtoken.runtime import fairplay_backend, get_rights_ports

from .api import cors_headers, lambda_handler_for, license_response

CERTIFICATE_PATH = "/hms/fp/cert"


def certificate_response(event: dict[str, Any]) -> dict[str, Any]:
    """``GET /hms/fp/cert``: the deployment's FPS application certificate (DER), or 404 -1000 without one."""
    settings = get_rights_ports().settings
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    cors = cors_headers(settings.allowed_origins, headers.get("origin"))
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    if str(event.get("httpMethod") or "").upper() not in ("GET", "HEAD"):
        return error_response(-1001, "json", request_id, {**cors, "Allow": "GET"})
    if settings.fairplay_certificate is None:
        return error_response(-1000, "json", request_id, cors)
    return license_response(settings.fairplay_certificate, "application/octet-stream", cors)


def lambda_handler_for_fairplay() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """One function for both FairPlay routes: the certificate, and CKCs (a certificate request takes no use)."""
    rights = lambda_handler_for("fp", fairplay_backend)

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if str(event.get("path") or "").rstrip("/") == CERTIFICATE_PATH:
            return certificate_response(event)
        return rights(event, context)

    return lambda_handler  # the rights half is already wrapped for tracing
