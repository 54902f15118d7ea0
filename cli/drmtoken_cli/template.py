"""Read ``template.yaml`` so that local tools follow what is deployed.

Tables, routes, handlers, environment variables and the 404 gateway response all
come from the template: tests, ``drmtoken tables create``, ``serve`` and
``invoke`` can never drift from the stack.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
LOCAL_STACK_NAME = "drm-token-local"
_IMPORT_LOCK = threading.Lock()


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !Sub, ...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass
class Route:
    path: str
    methods: set[str]


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)

    def load_handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """Import the function's handler from its code directory, under a name of its own."""
        module_name = f"functions_{self.logical_id}_{self.module}"
        with _IMPORT_LOCK:  # a second thread must not see the module half imported
            return self._import(module_name)

    def _import(self, module_name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, self.code_dir / f"{self.module}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(module, self.handler)
        return handler


class Template:
    def __init__(self, path: Path = DEFAULT_TEMPLATE, parameters: dict[str, str] | None = None) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        self.resources: dict[str, Any] = self.document.get("Resources", {})
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.document.get("Parameters", {}).items()
        }
        self.parameters.update(parameters or {})

    # --- resolution of intrinsic functions, enough for local use ---------------------

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsics against parameter defaults; what only AWS knows becomes None."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._ref(m.group(1)) or ""), value["Fn::Sub"])
        if "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(condition) else when_false)
        if "Fn::GetAtt" in value:
            return None
        return {k: self.resolve(v) for k, v in value.items()}

    def condition(self, name: str) -> bool:
        spec = self.document.get("Conditions", {})[name]
        left, right = (self.resolve(v) for v in spec["Fn::Equals"])
        return bool(left == right)

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::StackName":
            return LOCAL_STACK_NAME
        resource = self.resources.get(name)
        if resource and resource["Type"] == "AWS::DynamoDB::Table":
            return self.resolve(resource["Properties"]["TableName"])
        return None

    # --- what local tools need -----------------------------------------------------

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> CreateTable arguments, as DynamoDB Local and moto accept them."""
        tables = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            props = resource["Properties"]
            tables[logical_id] = {
                "TableName": self.resolve(props["TableName"]),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
        return tables

    def functions(self) -> dict[str, FunctionSpec]:
        globals_env = self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        functions = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function" or "CodeUri" not in resource["Properties"]:
                continue
            props = resource["Properties"]
            module, handler = props["Handler"].rsplit(".", 1)
            variables = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
            routes: dict[str, Route] = {}
            for event in props.get("Events", {}).values():
                if event["Type"] == "Api":
                    path = event["Properties"]["Path"]
                    routes.setdefault(path, Route(path, set())).methods.add(event["Properties"]["Method"].upper())
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_dir=self.path.parent / props["CodeUri"],
                module=module,
                handler=handler,
                environment={
                    k: str(v) for k, v in ((k, self.resolve(v)) for k, v in variables.items()) if v is not None
                },
                routes=list(routes.values()),
            )
        return functions

    def gateway_response(self, response_type: str) -> tuple[int, dict[str, str]]:
        """Status and content-type -> body template of a gateway response of the REST API."""
        for resource in self.resources.values():
            if resource["Type"] == "AWS::Serverless::Api":
                response = resource["Properties"].get("GatewayResponses", {}).get(response_type)
                if response:
                    return int(response["StatusCode"]), dict(response.get("ResponseTemplates", {}))
        raise KeyError(response_type)
