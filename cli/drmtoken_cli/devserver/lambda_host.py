"""The template's functions run in this process, as Lambda would run them: ``invoke`` and the base of ``serve``."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from drmtoken_cli.errors import CommandError

from .local_keyring import SEALING_KEYRING_FILE, ensure_local_keyring, ensure_local_viewer_key
from .template import FunctionSpec, Template


class LocalContext:
    """The Lambda context attributes and the one method that the functions and powertools read."""

    def __init__(self, function_name: str, timeout_seconds: float = 10) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._ends_at = time.monotonic() + timeout_seconds  # the template's Timeout (Globals: 10 s)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


def prepare_environment(template: Template, environment: str) -> None:
    """Give this process the functions' variables from the template, with a local keyring.

    All functions run in one process, so their variables must agree; the template sets
    them once in Globals, and this refuses a template where they would clash.
    """
    merged: dict[str, str] = {}
    for spec in template.functions().values():
        for name, value in spec.environment.items():
            if merged.setdefault(name, value) != value:
                raise CommandError(f"functions disagree on {name}: cannot run them in one process")
    merged["ENVIRONMENT"] = environment
    os.environ.update(merged)
    if not os.environ.get("TOKEN_KEYRING"):
        os.environ["TOKEN_KEYRING"] = ensure_local_keyring(template.project_dir)
    os.environ.pop("TOKEN_KEYRING_SECRET", None)  # the template's points at AWS; locally the keyring is inline
    if not os.environ.get("KEY_SEALING_KEYRING"):
        os.environ["KEY_SEALING_KEYRING"] = ensure_local_keyring(template.project_dir, SEALING_KEYRING_FILE)
    os.environ.pop("KEY_SEALING_KEYRING_SECRET", None)
    if not os.environ.get("VIEWER_KEY"):
        os.environ["VIEWER_KEY"] = ensure_local_viewer_key(template.project_dir)
    os.environ.pop("VIEWER_KEY_SECRET", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def match_route(functions: Mapping[str, FunctionSpec], path: str, method: str) -> FunctionSpec | None:
    """The function API Gateway would route ``method path`` to, or None (its gateway response).

    As API Gateway does: an exact path first (a trailing slash matches the path without it,
    as the license URLs `.../rights/?ExpressPlayToken=...` rely on), then the greedy
    ``{proxy+}`` route with the longest prefix, which matches one or more further segments.
    """
    if len(path) > 1 and path.endswith("/"):
        exact = match_route(functions, path.rstrip("/"), method)
        if exact is not None and not any(r.path.endswith("{proxy+}") for r in exact.routes):
            return exact
    candidates: list[tuple[int, FunctionSpec]] = []
    for spec in functions.values():
        for route in spec.routes:
            if not ({method, "ANY"} & route.methods):
                continue
            if route.path == path:
                return spec
            if path_parameters(route.path, path) is not None:
                candidates.append((len(path) + 1, spec))  # a {name} segment is more specific than {proxy+}
            if route.path.endswith("{proxy+}"):
                prefix = route.path.removesuffix("{proxy+}")
                if path.startswith(prefix) and len(path) > len(prefix):
                    candidates.append((len(prefix), spec))
    return max(candidates, key=lambda candidate: candidate[0])[1] if candidates else None


def path_parameters(route_path: str, path: str) -> dict[str, str] | None:
    """The values of a route's ``{name}`` segments in ``path``, or None when it does not match.

    As API Gateway: a ``{name}`` segment matches one whole, non-empty segment; ``{proxy+}`` is not one.
    """
    if "{" not in route_path or route_path.endswith("{proxy+}"):
        return None
    pattern, given = route_path.strip("/").split("/"), path.rstrip("/").strip("/").split("/")
    if len(pattern) != len(given):
        return None
    values: dict[str, str] = {}
    for expected, actual in zip(pattern, given, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if not actual:
                return None
            values[expected[1:-1]] = unquote(actual)
        elif expected != actual:
            return None
    return values


def route_parameters(spec: FunctionSpec, path: str) -> tuple[str, dict[str, str]] | None:
    """The route of ``spec`` that ``path`` took and its path parameters, when it has ``{name}`` segments."""
    for route in spec.routes:
        values = path_parameters(route.path, path)
        if values is not None:
            return route.path, values
    return None


class FunctionHost:
    """The template's functions, loaded once; one request at a time per function, like one warm container."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.functions = template.functions()
        self._locks = {name: threading.Lock() for name in self.functions}

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        if logical_id not in self.functions:
            raise CommandError(f"no function {logical_id!r} in template.yaml; there are: {', '.join(self.functions)}")
        handler = self.functions[logical_id].load_handler()
        with self._locks[logical_id]:
            return handler(event, LocalContext(logical_id))

    def route(self, path: str, method: str) -> FunctionSpec | None:
        return match_route(self.functions, path, method)


def invoke_file(template: Template, logical_id: str, event_file: Path, environment: str) -> dict[str, Any]:
    """What `sam local invoke -e` does, in this process: one event file through one function."""
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
    prepare_environment(template, environment)
    return host.invoke(logical_id, event)
