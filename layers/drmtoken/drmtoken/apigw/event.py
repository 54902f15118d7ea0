"""Turn an API Gateway REST proxy event into raw parameters: name -> list of values.

Query string and form body are merged. Size bounds are enforced here, before any
value is interpreted, so an oversized request costs nothing further.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from drmtoken.core.errors import ApiError
from drmtoken.core.params import RawParams

MAX_PARAMETERS = 64
MAX_BODY_BYTES = 16 * 1024
MAX_VALUE_BYTES = 4 * 1024  # UTF-8 bytes of one value

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
ALLOWED_METHODS = ("GET", "POST")


@dataclass
class RawRequest:
    method: str
    params: RawParams
    too_large: bool
    request_id: str


def read_request(event: dict[str, Any]) -> RawRequest:
    """Collect parameters from the event; never raises for bad input."""
    method = str(event.get("httpMethod") or "GET").upper()
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    params: RawParams = {}
    too_large = False

    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    for name, values in (multi or {k: [v] for k, v in single.items()}).items():
        params.setdefault(name, []).extend(str(v) for v in values or [])

    if method == "POST" and _is_form(event.get("headers") or {}):
        body = _body_bytes(event)
        if body is None or len(body) > MAX_BODY_BYTES:
            too_large = True
        else:
            # Bytes that are not UTF-8 become lone surrogates, which make their parameter invalid.
            text = body.decode("utf-8", errors="surrogateescape")
            for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
                params.setdefault(name, []).append(value)

    count = sum(len(values) for values in params.values())
    if count > MAX_PARAMETERS or any(_too_long(v) for values in params.values() for v in values):
        too_large = True
    return RawRequest(method=method, params=params, too_large=too_large, request_id=request_id)


def _too_long(value: str) -> bool:
    # A character is at most 4 UTF-8 bytes: only values over 1 KiB characters need encoding.
    return len(value) * 4 > MAX_VALUE_BYTES and len(value.encode("utf-8", errors="surrogatepass")) > MAX_VALUE_BYTES


def check_bounds(request: RawRequest) -> None:
    if request.too_large:
        raise ApiError(-1002)


def _is_form(headers: dict[str, Any]) -> bool:
    for name, value in headers.items():
        if name.lower() == "content-type" and isinstance(value, str):
            return value.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE
    return False


def _body_bytes(event: dict[str, Any]) -> bytes | None:
    """The body as bytes; None when a base64 body does not decode (treated as unusable)."""
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", errors="surrogatepass")
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
