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
    own_base: str = ""  # https://<host>[/<stage>]: where this API was reached


def own_base_url(event: dict[str, Any]) -> str:
    """The base URL the caller reached this API at: its domain, and the stage when the URL carries one.

    On the execute-api domain the request context's path is /<stage>/<path>; behind a custom
    domain mapped at the root it is the path alone.
    """
    context = event.get("requestContext") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    domain = str(context.get("domainName") or headers.get("host") or "")
    full_path, path = str(context.get("path") or ""), str(event.get("path") or "")
    prefix = full_path[: -len(path)] if path and full_path.endswith(path) else ""
    return f"https://{domain}{prefix}" if domain else ""


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
    return RawRequest(method, params, too_large, request_id, own_base_url(event))


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
