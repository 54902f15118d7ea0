"""The catch-all route: 404 -1000 for any path the API does not serve, rendered as every other error.

API Gateway routes unknown paths here rather than to a gateway response, because a
gateway response template is plain variable substitution: it can neither read
``errorFormat`` nor set the HTML charset.
"""

from __future__ import annotations

from typing import Any

from drmtoken.core.errors import ApiError
from drmtoken.core.params import RawParams, parse_error_format

from .event import read_request
from .responses import error_response, prefers_json


def handle_unknown_path(event: dict[str, Any]) -> dict[str, Any]:
    request = read_request(event)
    return error_response(-1000, unknown_path_format(request.params, event), request.request_id)


def unknown_path_format(params: RawParams, event: dict[str, Any]) -> str:
    """``errorFormat`` when it is valid; when it is absent, JSON only if ``Accept`` prefers it to HTML."""
    try:
        if params.get("errorFormat"):
            return parse_error_format(params)
    except ApiError:
        return "html"  # as an invalid errorFormat is rendered on the token routes
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return "json" if prefers_json(headers.get("accept", "")) else "html"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point of the catch-all route."""
    return handle_unknown_path(event)
