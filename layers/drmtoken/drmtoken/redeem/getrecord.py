"""`GET /cmiapi/getrecord/`: a customer's own redemption records, newest first, a page at a time.

Authentication and errorFormat work as on the token routes; one DynamoDB query per page,
whichever filter (the byCookie index serves the cookie filter).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from drmtoken.apigw.event import check_bounds, read_request
from drmtoken.apigw.responses import error_response, text_response
from drmtoken.core.account import Authenticator, uniform_authentication_failures
from drmtoken.core.errors import ApiError, DependencyError
from drmtoken.core.params import (
    Param,
    integer_in,
    parse_authenticator,
    parse_cookie,
    parse_error_format,
    parse_parameters,
)
from drmtoken.observability import lambda_entry, logger
from drmtoken.runtime import get_record_ports

MAX_PAGE = 32  # as ExpressPlay's getrecord
_POSITION = re.compile(r"[0-9]{13}#[0-9a-f]{0,32}#[0-9a-f]{8}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,80}")


def parse_cursor(value: str) -> str:
    """A page position as handed out in ``next``: base64url of a record's sort key."""
    if not _CURSOR.fullmatch(value):  # exactly as cursor_of spells it: no padding, no other alphabet
        raise ValueError("not a cursor")
    try:
        position = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as error:
        raise ValueError("not a cursor") from error
    if cursor_of(position) != value:  # one spelling per position (no stray bits in the last character)
        raise ValueError("not a cursor")
    if not _POSITION.fullmatch(position):
        raise ValueError("not a cursor")
    return position


def cursor_of(position: str | None) -> str | None:
    return base64.urlsafe_b64encode(position.encode()).rstrip(b"=").decode() if position else None


RECORD_PARAMETERS: tuple[Param, ...] = (
    Param("customerAuthenticator", parse_authenticator, invalid=-2018, missing=-2017),
    Param("cookie", parse_cookie, invalid=-2033),
    Param("length", integer_in(1, MAX_PAGE), invalid=-1101),
    Param("start", parse_cursor, invalid=-1102),
)


def handle_getrecord(event: dict[str, Any], lambda_request_id: str = "") -> dict[str, Any]:
    request = read_request(event)
    error_format = "html"
    try:
        error_format = parse_error_format(request.params)
        if request.method != "GET":
            raise ApiError(-1001)
        check_bounds(request)
        values = parse_parameters(request.params, RECORD_PARAMETERS)
        ports = get_record_ports()
        authenticator: Authenticator = values["customerAuthenticator"]
        with uniform_authentication_failures():
            refusal = ports.accounts.authenticate(authenticator, ports.settings.environment)
            if refusal is not None:
                raise ApiError(refusal)
        records, position = ports.records.page(
            authenticator.customer_id, values.get("cookie"), values.get("length", MAX_PAGE), values.get("start")
        )
    except ApiError as error:
        extra = {"Allow": "GET"} if error.code == -1001 else None
        return error_response(error.code, error_format, request.request_id, extra)
    except DependencyError as error:
        logger.warning("dependency failed", extra={"requestId": request.request_id, "reason": str(error)})
        return error_response(-2030, error_format, request.request_id)
    body = json.dumps({"records": records, "next": cursor_of(position)}, separators=(",", ":"))
    return text_response(200, "application/json", body)


def lambda_handler_for() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_getrecord(event, str(getattr(context, "aws_request_id", "")))

    return lambda_entry(lambda_handler)
