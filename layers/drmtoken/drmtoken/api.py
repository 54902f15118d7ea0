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
from .request import ALLOWED_METHODS, check_bounds, read_request
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


def lambda_handler_for(drm: Drm) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of one route (metrics and logging happen inside, tracing around it)."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_token_request(drm, event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)
