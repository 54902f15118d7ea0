"""Shared fixtures: a sandboxed AWS environment, tables built from template.yaml, a customer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drmtoken import runtime
from drmtoken.token import Keyring
from drmtoken_cli.local import LocalContext, match_route
from drmtoken_cli.template import Template

TEMPLATE = Template()
FUNCTIONS = TEMPLATE.functions()
WV_PATH = "/hms/wv/token"
FP_PATH = "/hms/fp/token"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(autouse=True)
def aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach a real AWS account or a leftover local endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "DrmTokenService")
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def keyring_json() -> str:
    return Keyring.generate_json("t1")


@pytest.fixture
def keyring(keyring_json: str) -> Keyring:
    return Keyring.from_json(keyring_json)


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch, keyring_json: str) -> dict[str, str]:
    """The functions' environment exactly as template.yaml sets it, with an inline keyring."""
    env = dict(FUNCTIONS["WidevineFunction"].environment)
    env["TOKEN_KEYRING"] = keyring_json
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TOKEN_KEYRING_SECRET", raising=False)
    return env


def invoke(event: dict[str, Any], lambda_request_id: str | None = None) -> dict[str, Any]:
    """Run an event through the handler that template.yaml routes its path and method to."""
    spec = match_route(FUNCTIONS, event["path"], event["httpMethod"])
    assert spec is not None, f"template.yaml routes no function for {event['httpMethod']} {event['path']}"
    handler: Handler = spec.load_handler()
    context = LocalContext(spec.logical_id)
    if lambda_request_id is not None:
        context.aws_request_id = lambda_request_id
    return handler(event, context)


def error_of(response: dict[str, Any]) -> tuple[int, int, str]:
    """(status, code, content type) of an error response in either format."""
    content_type = response["headers"]["Content-Type"]
    if content_type == "application/json":
        code = json.loads(response["body"])["errorCode"]
    else:
        code = int(response["body"].split("<h1>Error ", 1)[1].split("<", 1)[0])
    return response["statusCode"], code, content_type
