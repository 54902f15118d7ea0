"""`GET /cmiapi/streams/` and `POST /cmiapi/streams/end/`: a viewer's open streams, seen and ended by its customer.

Authentication, errorFormat and isolation work as on getrecord: the caller sees and ends
only its own viewers' streams (the slots are keyed by customer and the viewer's keyed
hash), and a stream that is not that viewer's is 404, whoever owns it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from drmtoken.apigw.event import check_bounds, read_request
from drmtoken.apigw.responses import error_response, text_response
from drmtoken.core.account import Authenticator, uniform_authentication_failures
from drmtoken.core.errors import ApiError, DependencyError
from drmtoken.core.params import Param, parse_authenticator, parse_error_format, parse_parameters
from drmtoken.core.slots import STREAM_ID, Slot, parse_user_id, viewer_of
from drmtoken.observability import lambda_entry, logger
from drmtoken.ports import StreamPorts
from drmtoken.runtime import get_stream_ports


def parse_stream_id(value: str) -> str:
    if not STREAM_ID.fullmatch(value):
        raise ValueError("not a stream id")
    return value


VIEWER_PARAMETERS: tuple[Param, ...] = (
    Param("customerAuthenticator", parse_authenticator, invalid=-2018, missing=-2017),
    Param("userId", parse_user_id, invalid=-1103, missing=-1103),
)
END_PARAMETERS: tuple[Param, ...] = (
    *VIEWER_PARAMETERS,
    Param("streamId", parse_stream_id, invalid=-4035, missing=-4035),
)


def stream_view(slot: Slot) -> dict[str, Any]:
    """A stream as the API shows it: times in epoch milliseconds, as getrecord's ``time``."""
    return {
        "id": slot.stream_id,
        "openedAt": slot.opened_at * 1000,
        "lastRenewalAt": slot.renewed_at * 1000,
        "drm": slot.drm,
        "device": dict(slot.device),
    }


def list_streams(ports: StreamPorts, values: dict[str, Any], now: int) -> dict[str, Any]:
    customer, viewer = _viewer(ports, values)
    return {"streams": [stream_view(slot) for slot in ports.streams.open_streams(customer, viewer, now)]}


def end_stream(ports: StreamPorts, values: dict[str, Any], now: int) -> dict[str, Any]:
    customer, viewer = _viewer(ports, values)
    if not ports.streams.end(customer, viewer, values["streamId"], now):
        raise ApiError(-4035)
    return {"ended": values["streamId"]}


def _viewer(ports: StreamPorts, values: dict[str, Any]) -> tuple[str, str]:
    authenticator: Authenticator = values["customerAuthenticator"]
    with uniform_authentication_failures():
        refusal = ports.accounts.authenticate(authenticator, ports.settings.environment)
        if refusal is not None:
            raise ApiError(refusal)
    customer = authenticator.customer_id
    return customer, viewer_of(ports.viewer_key.get(), customer, values["userId"])


Action = Callable[[StreamPorts, dict[str, Any], int], dict[str, Any]]
LIST: tuple[str, tuple[Param, ...], Action] = ("GET", VIEWER_PARAMETERS, list_streams)  # /cmiapi/streams/
END: tuple[str, tuple[Param, ...], Action] = ("POST", END_PARAMETERS, end_stream)  # /cmiapi/streams/end/


def handle_streams(event: dict[str, Any], lambda_request_id: str = "") -> dict[str, Any]:
    request = read_request(event)
    method, table, action = END if str(event.get("path") or "").rstrip("/").endswith("/streams/end") else LIST
    error_format = "html"
    try:
        error_format = parse_error_format(request.params)
        if request.method != method:
            raise ApiError(-1001)
        check_bounds(request)
        values = parse_parameters(request.params, table)
        answer = action(get_stream_ports(), values, int(time.time()))
    except ApiError as error:
        extra = {"Allow": method} if error.code == -1001 else None
        return error_response(error.code, error_format, request.request_id, extra)
    except DependencyError as error:
        logger.warning("dependency failed", extra={"requestId": request.request_id, "reason": str(error)})
        return error_response(-2030, error_format, request.request_id)
    return text_response(200, "application/json", json.dumps(answer, separators=(",", ":")))


def lambda_handler_for() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_streams(event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)
