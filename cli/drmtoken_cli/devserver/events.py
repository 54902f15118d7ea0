"""An HTTP request as the API Gateway REST (v1) proxy event that API Gateway would send for it."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def rest_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, binary: bool = False
) -> dict[str, Any]:
    """The proxy event for ``method target`` (path and query) with these headers and body bytes.

    Query values are percent-decoded as UTF-8, a byte that is not UTF-8 becoming U+FFFD, as
    API Gateway hands them on. ``binary`` (the API's binaryMediaTypes is */*): every body
    travels base64-encoded; otherwise only a body that is not UTF-8 text does.
    """
    parts = urlsplit(target)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True, errors="replace"):
        multi_query.setdefault(name, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    try:
        if binary and body:
            raise UnicodeDecodeError("utf-8", body, 0, 1, "binary media type")
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    request_id = str(uuid.uuid4())
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": parts.path,
            "stage": "local",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
