"""The token routes' HTTP face: event -> issue_token -> response, and one log line per request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from drmtoken.apigw.event import ALLOWED_METHODS, check_bounds, read_request
from drmtoken.apigw.responses import error_response, text_response
from drmtoken.core.drm import Drm
from drmtoken.core.errors import ERRORS, ApiError
from drmtoken.core.params import parse_error_format
from drmtoken.observability import lambda_entry, logger, record_request
from drmtoken.runtime import get_runtime

from .service import issue_token

ALLOW_HEADER = {"Allow": ", ".join(ALLOWED_METHODS)}


def handle_token_request(drm: Drm, event: dict[str, Any], lambda_request_id: str = "") -> dict[str, Any]:
    request = read_request(event)
    ids = {"requestId": request.request_id, "lambdaRequestId": lambda_request_id}
    error_format = "html"
    try:
        error_format = parse_error_format(request.params)
        if request.method not in ALLOWED_METHODS:
            raise ApiError(-1001)
        check_bounds(request)
        outcome = issue_token(drm, request.params, get_runtime(), time.time(), own_base=request.own_base)
    except ApiError as error:  # refused before the request was read: no facts beyond its ids
        record_request(drm.value, error.code, error.status, ids)
        extra = ALLOW_HEADER if error.code == -1001 else None
        return error_response(error.code, error_format, request.request_id, extra)
    except Exception:
        logger.exception("unexpected failure", extra={**ids, "drm": drm.value})
        record_request(drm.value, -2030, 500, ids)
        return error_response(-2030, error_format, request.request_id, unexpected=True)

    facts = {**ids, **outcome.facts}
    if outcome.failure is not None:
        logger.warning("dependency failed", extra={**facts, "drm": drm.value, "reason": outcome.failure})
    if not outcome.issued:
        record_request(drm.value, outcome.code, ERRORS[outcome.code][0], facts)
        return error_response(outcome.code, error_format, request.request_id, error=outcome.error)
    record_request(drm.value, 0, 200, facts)
    return text_response(200, "text/uri-list", outcome.url or "")


def lambda_handler_for(drm: Drm) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of one route (metrics and logging happen inside, tracing around it)."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_token_request(drm, event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)
