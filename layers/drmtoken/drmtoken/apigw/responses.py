"""Errors and bodies to API Gateway proxy responses, for either side: one rendering of every error."""

from __future__ import annotations

import html
import json
from typing import Any

from drmtoken.core.errors import ERRORS, UNEXPECTED, ApiError

NO_STORE = "no-store"


def error_response(
    code: int,
    error_format: str,
    request_id: str,
    extra_headers: dict[str, str] | None = None,
    *,
    unexpected: bool = False,
    error: ApiError | None = None,
) -> dict[str, Any]:
    """The answer for ``code`` in ``error_format`` (json, else html), status and message from the error table.

    ``error`` given: its own status and message (a reason appended) instead of the table's.
    """
    status, message = UNEXPECTED if unexpected else ERRORS[code]
    if error is not None:
        status, message = error.status, error.message
    if error_format == "json":
        content_type = "application/json"
        body = json.dumps({"errorCode": code, "errorMessage": message, "requestId": request_id})
    else:
        content_type = "text/html; charset=utf-8"
        body = render_html_error(code, message, request_id)
    headers = {"Content-Type": content_type, "Cache-Control": NO_STORE, **(extra_headers or {})}
    return {"statusCode": status, "headers": headers, "body": body}


def render_html_error(code: int, message: str, request_id: str) -> str:
    code_text, message_text, id_text = (html.escape(str(v)) for v in (code, message, request_id))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Error {code_text}</title></head>\n<body><h1>Error {code_text}</h1>"
        f"<p>{message_text}</p><p>Request id: {id_text}</p></body></html>\n"
    )


def text_response(status: int, content_type: str, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_type, "Cache-Control": NO_STORE}, "body": body}


def prefers_json(accept: str) -> bool:
    """True when ``Accept`` gives application/json a higher quality than text/html (RFC 9110 section 12.5.1).

    Media types are compared whole: ``application/jsonx`` is not JSON. At equal quality the
    type named outright beats one reached through a wildcard (``application/json, */*``
    asks for JSON); a full tie goes to HTML, the contract's default.
    """
    quality = {"json": 0.0, "html": 0.0}
    specificity = {"json": -1, "html": -1}
    for part in accept.split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media_type = media_type.lower()
        for kind, full, family in (("json", "application/json", "application/*"), ("html", "text/html", "text/*")):
            rank = {full: 2, family: 1, "*/*": 0}.get(media_type)
            if rank is not None and rank > specificity[kind]:  # the most specific range decides
                quality[kind], specificity[kind] = q, rank
    return (quality["json"], specificity["json"]) > (quality["html"], specificity["html"]) and quality["json"] > 0
