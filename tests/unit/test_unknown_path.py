"""Any path the API does not serve: 404 -1000, in errorFormat when given, else as Accept prefers."""

from __future__ import annotations

import json

import pytest

from drmtoken.apigw.responses import prefers_json
from tests.support.apigw import rest_event
from tests.support.lambdas import error_of, invoke


@pytest.mark.parametrize(
    ("target", "accept", "content_type"),
    [
        ("/hms/xx/token", None, "text/html; charset=utf-8"),
        ("/", None, "text/html; charset=utf-8"),
        ("/hms/wv/token/extra?errorFormat=json", None, "application/json"),
        ("/nope?errorFormat=json", "text/html", "application/json"),  # errorFormat wins over Accept
        ("/nope?errorFormat=html", "application/json", "text/html; charset=utf-8"),
        ("/nope?errorFormat=xml", "application/json", "text/html; charset=utf-8"),  # as an invalid one renders
        ("/nope", "application/json", "application/json"),
        ("/nope", "application/jsonx", "text/html; charset=utf-8"),
        ("/nope", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8"),
        ("/nope", "application/json, text/plain, */*", "application/json"),
        ("/nope", "application/json;q=0", "text/html; charset=utf-8"),
    ],
)
def test_unknown_paths_are_404_1000(target: str, accept: str | None, content_type: str) -> None:
    path, _, query = target.partition("?")
    headers = {"Accept": accept} if accept else {}
    event = rest_event("GET", path + (f"?{query}" if query else ""), headers=headers)
    response = invoke(event)
    assert error_of(response) == (404, -1000, content_type)
    assert response["headers"]["Cache-Control"] == "no-store"
    if content_type == "application/json":
        assert json.loads(response["body"])["requestId"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize("method", ["POST", "DELETE", "OPTIONS"])
def test_every_method_of_an_unknown_path_is_404(method: str) -> None:
    assert error_of(invoke(rest_event(method, "/cmiapi/nothing?errorFormat=json")))[:2] == (404, -1000)


@pytest.mark.parametrize(
    ("accept", "json_wins"),
    [
        ("", False),
        ("*/*", False),
        ("application/*", True),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", True),
        ("application/json;q=0.9, text/*;q=0.9", True),
        ("APPLICATION/JSON", True),
        ("application/json;q=oops", False),
    ],
)
def test_accept_negotiation(accept: str, json_wins: bool) -> None:
    assert prefers_json(accept) is json_wins
