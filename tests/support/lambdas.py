"""The template's functions for tests: read once from template.yaml, invoked in-process as Lambda would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drmtoken_cli.devserver.lambda_host import LocalContext, match_route
from drmtoken_cli.devserver.template import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template(ROOT / "template.yaml")
FUNCTIONS = TEMPLATE.functions()
EVENTS = ROOT / "events"
WV_PATH = "/hms/wv/token"
FP_PATH = "/hms/fp/token"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def invoke(event: dict[str, Any], lambda_request_id: str | None = None, timeout_seconds: float = 10) -> dict[str, Any]:
    """Run an event through the handler that template.yaml routes its path and method to.

    ``timeout_seconds``: the function's timeout, as its context tells the time left.
    """
    spec = match_route(FUNCTIONS, event["path"], event["httpMethod"])
    assert spec is not None, f"template.yaml routes no function for {event['httpMethod']} {event['path']}"
    handler: Handler = spec.load_handler()
    context = LocalContext(spec.logical_id, timeout_seconds)
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


def policy_statements(function: str) -> list[dict[str, Any]]:
    """Every statement a function's Policies grant, inline or through a managed policy of the template."""
    statements: list[dict[str, Any]] = []
    for policy in TEMPLATE.resources[function]["Properties"].get("Policies", []):
        if "Fn::If" in policy:  # a statement granted only when its parameter is set
            policy = policy["Fn::If"][1]
        if "Ref" in policy:
            statements += TEMPLATE.resources[policy["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
        else:
            statements += policy["Statement"]
    return statements


def tokens_in_parallel(authenticator: str, count: int, workers: int = 32) -> list[int]:
    """``count`` Widevine token requests at once through one warm function: each one's code (0: issued)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from drmtoken import runtime
    from drmtoken.core.drm import Drm
    from drmtoken.issue.service import issue_token
    from tests.support.requests import widevine

    warm = runtime.get_runtime()
    params = {name: [value] for name, value in widevine(authenticator)}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda _: issue_token(Drm.WIDEVINE, params, warm, time.time()).code, range(count)))
