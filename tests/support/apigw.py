"""API Gateway REST (v1) proxy events for tests, built by the same code as `drmtoken serve` builds them."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from drmtoken_cli.devserver.events import rest_event as event_from_http

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
    """The event for ``method path?query``; ``form`` becomes an urlencoded body. Repeated names are kept."""
    target = f"{path}?{urlencode(query)}" if query else path
    all_headers = {"Host": "wv-gen.example.com", "User-Agent": "tests", **(headers or {})}
    if form is not None:
        body = urlencode(form)
        content_type = content_type or "application/x-www-form-urlencoded"
    if content_type:
        all_headers["Content-Type"] = content_type
    event = event_from_http(method, target, list(all_headers.items()), (body or "").encode("utf-8"))
    if body is not None and base64_body:  # as API Gateway sends bodies of binary media types
        event.update(body=base64.b64encode(body.encode("utf-8")).decode("ascii"), isBase64Encoded=True)
    return event


def speke_event(customer_id: str, body: bytes, speke_version: str | None = "2.0") -> dict[str, Any]:
    """A packager's POST /speke/{customerId}, as API Gateway passes it after checking SigV4: body base64."""
    headers = [("Host", "keys.example.com"), ("Content-Type", "application/xml"), ("User-Agent", "MediaPackage")]
    if speke_version is not None:
        headers.append(("X-Speke-Version", speke_version))
    event = event_from_http("POST", f"/speke/{customer_id}", headers, body, binary=True)
    event.update(resource="/speke/{customerId}", pathParameters={"customerId": customer_id})
    return event
