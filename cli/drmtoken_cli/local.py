"""Run the template's functions in this process, as Lambda would: ``invoke`` and the base of ``serve``."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import CommandError
from .keyring import ensure_local_keyring
from .template import FunctionSpec, Template


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalContext:
    """The Lambda context attributes that powertools reads."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())


def prepare_environment(functions: Mapping[str, FunctionSpec], environment: str) -> None:
    """Give this process the functions' variables from the template, with a local keyring.

    All functions run in one process, so their variables must agree; the template
    sets them once in Globals, and this refuses a template where they would clash.
    """
    merged: dict[str, str] = {}
    for spec in functions.values():
        for name, value in spec.environment.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"functions disagree on {name}: cannot run them in one process")
    merged["ENVIRONMENT"] = environment
    os.environ.update(merged)
    if not os.environ.get("TOKEN_KEYRING"):
        os.environ["TOKEN_KEYRING"] = ensure_local_keyring()
    os.environ.pop("TOKEN_KEYRING_SECRET", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


class FunctionHost:
    """The template's functions, loaded once; one request at a time per function, like one warm container."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.functions = template.functions()
        self._locks = {name: threading.Lock() for name in self.functions}

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        spec = self.functions[logical_id]
        handler = spec.load_handler()
        with self._locks[logical_id]:
            return handler(event, LocalContext(logical_id))

    def route(self, path: str, method: str) -> FunctionSpec | None:
        return match_route(self.functions, path, method)


def match_route(functions: Mapping[str, FunctionSpec], path: str, method: str) -> FunctionSpec | None:
    """The function API Gateway would route ``method path`` to, or None (its gateway response).

    As API Gateway does: an exact path first, then the greedy ``{proxy+}`` route with the
    longest prefix, which matches one or more further path segments.
    """
    candidates: list[tuple[int, FunctionSpec]] = []
    for spec in functions.values():
        for route in spec.routes:
            if not ({method, "ANY"} & route.methods):
                continue
            if route.path == path:
                return spec
            if route.path.endswith("{proxy+}"):
                prefix = route.path.removesuffix("{proxy+}")
                if path.startswith(prefix) and len(path) > len(prefix):
                    candidates.append((len(prefix), spec))
    return max(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


def invoke_file(logical_id: str, event_file: Path, environment: str) -> dict[str, Any]:
    template = Template()
    host = FunctionHost(template)
    if logical_id not in host.functions:
        raise CommandError(f"no function {logical_id!r} in template.yaml; there are: {', '.join(host.functions)}")
    try:
        event = json.loads(event_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {event_file}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CommandError(f"{event_file} is not a JSON event: {error}") from None
    if not isinstance(event, dict):
        raise CommandError(f"{event_file} is not a JSON event: expected an object")
    prepare_environment(host.functions, environment)
    return host.invoke(logical_id, event)


def rest_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway would send for this HTTP request."""
    parts = urlsplit(target)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True, errors="replace"):
        multi_query.setdefault(name, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    request_id = str(uuid.uuid4())
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method,
            "path": parts.path,
            "stage": "local",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
