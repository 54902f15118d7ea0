"""API Gateway REST proxy event in, proxy response out: the whole HTTP face of a token route."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from typing import Any

from .errors import ERRORS, UNAVAILABLE_MESSAGE, ApiError, DependencyError
from .observability import lambda_entry, logger, record_request
from .params import Drm, parse_error_format
from .request import ALLOWED_METHODS, RawParams, check_bounds, read_request
from .runtime import get_runtime
from .service import RequestContext, issue_token

NO_STORE = "no-store"


def handle_token_request(drm: Drm, event: dict[str, Any], lambda_request_id: str = "") -> dict[str, Any]:
    request = read_request(event)
    error_format = "html"
    context = RequestContext(request_id=request.request_id, lambda_request_id=lambda_request_id)
    try:
        error_format = parse_error_format(request.params)
        if request.method not in ALLOWED_METHODS:
            raise ApiError(-1001)
        check_bounds(request)
        issued = issue_token(drm, request.params, get_runtime(), time.time(), context)
    except ApiError as error:
        record_request(drm.value, error.code, error.status, context.loggable())
        extra = {"Allow": ", ".join(ALLOWED_METHODS)} if error.code == -1001 else {}
        return error_response(error.code, error.status, error.message, error_format, request.request_id, extra)
    except DependencyError as error:
        facts = context.loggable()
        logger.warning("dependency failed", extra={**facts, "drm": drm.value, "reason": str(error)})
        record_request(drm.value, -2030, 503, facts)
        return error_response(-2030, 503, UNAVAILABLE_MESSAGE, error_format, request.request_id)
    except Exception:
        facts = context.loggable()
        logger.exception("unexpected failure", extra={**facts, "drm": drm.value})
        record_request(drm.value, -2030, 500, facts)
        return error_response(-2030, 500, ERRORS[-2030][1], error_format, request.request_id)

    record_request(drm.value, 0, 200, {**context.loggable(), **issued.loggable()})
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/uri-list", "Cache-Control": NO_STORE},
        "body": issued.url,
    }


def error_response(
    code: int,
    status: int,
    message: str,
    error_format: str,
    request_id: str,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
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


def handle_unknown_path(event: dict[str, Any]) -> dict[str, Any]:
    """404 -1000 for any path the API does not serve, rendered as every other error is.

    API Gateway routes unknown paths here (a catch-all route) rather than to a gateway
    response, because a gateway response template is plain variable substitution: it can
    neither read ``errorFormat`` nor set the HTML charset.
    """
    request = read_request(event)
    return error_response(-1000, 404, ERRORS[-1000][1], unknown_path_format(request.params, event), request.request_id)


def unknown_path_format(params: RawParams, event: dict[str, Any]) -> str:
    """``errorFormat`` when it is valid; when it is absent, JSON only if ``Accept`` prefers it to HTML."""
    try:
        if params.get("errorFormat"):
            return parse_error_format(params)
    except ApiError:
        return "html"  # as an invalid errorFormat is rendered on the token routes
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return "json" if prefers_json(headers.get("accept", "")) else "html"


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


def lambda_handler_for(drm: Drm) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of one route (metrics and logging happen inside, tracing around it)."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_token_request(drm, event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)


def unknown_path_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point of the catch-all route."""
    return handle_unknown_path(event)
