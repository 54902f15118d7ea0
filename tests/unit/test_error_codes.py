"""Every error code of the contract (docs/token-api.md sections 4-6): status, code and content type, in both formats."""

from __future__ import annotations

import json

import pytest

from drmtoken.core.errors import ERRORS
from drmtoken.core.keys import wrap_content_key
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.error_cases import CASES, run
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import CONTENT_KEY, IV, REMOVE, RFC3394_EK, RFC3394_KEK, fairplay, widevine


@pytest.mark.parametrize("error_format", ["html", "json"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_error_code(
    name: str, error_format: str, authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    response = run(case, error_format, authenticator, store, monkeypatch)
    expected_type = "application/json" if error_format == "json" else "text/html; charset=utf-8"
    assert error_of(response) == (ERRORS[case.code][0], case.code, expected_type)
    assert response["headers"]["Cache-Control"] == "no-store"


def test_every_request_error_code_has_a_case() -> None:
    covered = {case.code for case in CASES.values()}
    # -1000 is the catch-all's 404 (test_unknown_path), -3004 below, -2030 in test_dependencies;
    # the rest belong to the rights routes (test_rights) and getrecord's paging (test_getrecord);
    # -2039 is API Gateway's own THROTTLED answer (test_documents_match_the_tables, test_serve).
    assert set(ERRORS) - covered == {
        *(-1000, -3004, -2030, -4010, -7008, -6004, -4001, -4023, -1101, -1102, -2039),
        *(-4030, -4031, -4032),  # renewals and kept licenses: the rights routes (test_renewals)
        *(-4033, -4034, -4035),  # stream limits and the streams API (test_stream_limits)
    }


@pytest.mark.parametrize("values", [["xml"], ["JSON"], ["json", "json"], ["html", "json"]])
def test_invalid_error_format_is_rendered_as_html(values: list[str], authenticator: str) -> None:
    params = widevine(authenticator) + [("errorFormat", value) for value in values]
    response = invoke(rest_event("GET", WV_PATH, params))
    assert error_of(response) == (400, -3004, "text/html; charset=utf-8")


def test_method_not_allowed_names_the_allowed_methods(authenticator: str) -> None:
    response = invoke(rest_event("PATCH", FP_PATH, fairplay(authenticator)))
    assert response["headers"]["Allow"] == "GET, POST"


def test_json_error_body_has_exactly_the_documented_fields(authenticator: str) -> None:
    event = rest_event("GET", WV_PATH, widevine(authenticator, kid=REMOVE, errorFormat="json"))
    body = json.loads(invoke(event)["body"])
    assert body == {
        "errorCode": -4018,
        "errorMessage": "Missing kid",
        "requestId": event["requestContext"]["requestId"],
    }


def test_html_error_escapes_what_it_shows(authenticator: str) -> None:
    event = rest_event("GET", WV_PATH, widevine(authenticator, kid=REMOVE))
    event["requestContext"]["requestId"] = "<script>alert(1)</script>"
    body = invoke(event)["body"]
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert body.startswith("<!DOCTYPE html>") and body.rstrip().endswith("</html>")


def test_oversized_form_body_is_too_large(authenticator: str) -> None:
    form = widevine(authenticator) + [("padding", "p" * 4000)] * 5
    response = invoke(rest_event("POST", WV_PATH, [("errorFormat", "json")], form=form))
    assert error_of(response) == (400, -1002, "application/json")


def test_missing_parameter_codes_follow_table_order(authenticator: str) -> None:
    """Several problems at once: the first row of the parameter table decides."""
    params = widevine(authenticator, kid="zz", securityLevel="9", iv=IV, contentKey=CONTENT_KEY)
    assert error_of(invoke(rest_event("GET", WV_PATH, params)))[1] == -4022


def test_wrapped_key_helper_matches_rfc_vector() -> None:
    assert wrap_content_key(bytes.fromhex(RFC3394_KEK), bytes.fromhex(CONTENT_KEY)).hex() == RFC3394_EK
