"""Build API Gateway REST (v1) proxy events the way the deployed API sends them."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlencode

Pairs = list[tuple[str, str]]


def rest_event(
    method: str,
    path: str,
    query: Pairs | None = None,
    form: Pairs | None = None,
    *,
    body: str | None = None,
    content_type: str | None = None,
    base64_body: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event; ``form`` becomes an urlencoded body, repeated names are kept."""
    multi: dict[str, list[str]] = {}
    for name, value in query or []:
        multi.setdefault(name, []).append(value)
    all_headers = {"Host": "wv-gen.example.com", "User-Agent": "tests", **(headers or {})}
    if form is not None:
        body = urlencode(form)
        content_type = content_type or "application/x-www-form-urlencoded"
    if content_type:
        all_headers["Content-Type"] = content_type
    if body is not None and base64_body:
        body = base64.b64encode(body.encode("utf-8")).decode("ascii")
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "tests"},
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }
