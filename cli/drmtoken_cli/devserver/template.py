"""Read ``template.yaml`` so that local tools follow what is deployed, and fail loudly where they cannot.

The YAML is decoded by cfn-lint's CloudFormation decoder (short tags such as ``!Sub`` and
``!Not`` become their long form). Intrinsic functions are then resolved here against
the parameters' defaults (or given values) and this machine's pseudo parameters:
Ref, Fn::Sub (both forms), Fn::Join, Fn::Select, Fn::Split, Fn::If and the condition
functions Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition. Anything else, such as
Fn::GetAtt whose value only AWS knows, raises ``TemplateError`` naming where it stands:
a local run never carries on with a silently wrong value.
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

LOCAL_STACK_NAME = "drm-token-local"
PSEUDO_PARAMETERS = {
    "AWS::StackName": LOCAL_STACK_NAME,
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "000000000000",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()  # AWS::NoValue: the property is left out
TABLE_EXTRAS = ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TimeToLiveSpecification")
_IMPORT_LOCK = threading.Lock()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """Something in the template that a local run cannot resolve or does not understand."""


@dataclass(frozen=True)
class AwsOnly:
    """The Ref of a resource whose physical id only AWS mints (a secret's ARN, a key's id).

    A function's environment variable with such a value is left out locally: the local
    run supplies its own (the keyring inline). Anywhere else it is a TemplateError.
    """

    logical_id: str


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
            module = sys.modules.get(module_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(module_name, self.code_dir / f"{self.module}.py")
                if spec is None or spec.loader is None:
                    raise TemplateError(f"{self.logical_id}: no module {self.module} in {self.code_dir}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(module, self.handler)
        return handler


class Template:
    def __init__(self, path: Path, parameters: dict[str, str] | None = None) -> None:
        from cfnlint.decode import decode

        self.path = path.resolve()
        document, problems = decode(str(self.path))
        if problems or document is None:
            raise TemplateError(f"{path}: " + "; ".join(str(problem) for problem in problems or ["not a template"]))
        self.document: dict[str, Any] = document
        self.resources: dict[str, Any] = document.get("Resources", {})
        self.parameters: dict[str, Any] = {
            name: spec["Default"] for name, spec in document.get("Parameters", {}).items() if "Default" in spec
        }
        unknown = set(parameters or {}) - set(document.get("Parameters", {}))
        if unknown:
            raise TemplateError(f"no such parameters in {path.name}: {', '.join(sorted(unknown))}")
        self.parameters.update(parameters or {})

    @property
    def project_dir(self) -> Path:
        return self.path.parent

    # --- intrinsic functions ---------------------------------------------------------

    def resolve(self, value: Any, where: str = "") -> Any:
        """``value`` with every intrinsic function resolved; TemplateError names what cannot be."""
        if isinstance(value, list):
            items = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument, where)
            if name.startswith("Fn::") or name == "Condition":
                return self._function(name, argument, where)
        resolved = {k: self.resolve(v, f"{where}.{k}" if where else k) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        conditions = self.document.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"no condition {name!r}")
        result = self.resolve(conditions[name], f"Conditions.{name}")
        if not isinstance(result, bool):
            raise TemplateError(f"condition {name} is not true or false")
        return result

    def _function(self, name: str, argument: Any, where: str) -> Any:
        here = f"{where}.{name}" if where else name
        if name == "Condition":
            return self.condition(argument)
        if name == "Fn::Equals":
            left, right = (self.resolve(v, here) for v in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self._boolean(argument[0], here)
        if name == "Fn::And":
            return all(self._boolean(v, here) for v in argument)
        if name == "Fn::Or":
            return any(self._boolean(v, here) for v in argument)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false, here)
        if name == "Fn::Sub":
            return self._sub(argument, here)
        if name == "Fn::Join":
            separator, values = argument
            return str(separator).join(self._text(v, here) for v in self.resolve(values, here))
        if name == "Fn::Select":
            index, values = argument
            return self.resolve(values, here)[int(self.resolve(index, here))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text, here)).split(separator)
        raise TemplateError(f"{here}: {name} cannot be resolved outside AWS")

    def _text(self, value: Any, where: str) -> str:
        if isinstance(value, AwsOnly):
            raise TemplateError(f"{where}: Ref {value.logical_id} is known only to AWS")
        return str(value)

    def _boolean(self, value: Any, where: str) -> bool:
        result = self.resolve(value, where)
        if not isinstance(result, bool):
            raise TemplateError(f"{where}: expected a condition, found {result!r}")
        return result

    def _sub(self, argument: Any, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(v, where) for name, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            value = values[name] if name in values else None if "." in name else self._ref(name, where)
            if value is None or isinstance(value, AwsOnly):
                raise TemplateError(f"{where}: ${{{name}}} is known only to AWS")
            return str(value)

        return _SUB_VARIABLE.sub(substitute, text)

    def _ref(self, name: str, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"{where}: Ref to {name!r}, which is neither a parameter nor a resource")
        if resource["Type"] == "AWS::DynamoDB::Table":
            return self.resolve(resource["Properties"]["TableName"], f"{name}.TableName")
        return AwsOnly(name)

    # --- what local tools need -----------------------------------------------------

    def of_type(self, kind: str) -> dict[str, Any]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == kind}

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> CreateTable arguments (with ``TimeToLiveSpecification`` for after creation)."""
        tables = {}
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            wanted = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", *TABLE_EXTRAS)
            arguments = {name: self.resolve(props[name], f"{logical_id}.{name}") for name in wanted if name in props}
            if any(isinstance(value, AwsOnly) for value in arguments.values()):
                raise TemplateError(f"{logical_id}: a table property is known only to AWS")
            arguments.setdefault("BillingMode", "PAY_PER_REQUEST")
            tables[logical_id] = arguments
        return tables

    def functions(self) -> dict[str, FunctionSpec]:
        globals_env = self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        functions = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            if "CodeUri" not in props:
                continue
            module, handler = props["Handler"].rsplit(".", 1)
            variables = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
            environment = self.resolve(variables, f"{logical_id}.Environment")
            routes: dict[str, Route] = {}
            for event_name, event in props.get("Events", {}).items():
                if event["Type"] != "Api":
                    raise TemplateError(f"{logical_id}.Events.{event_name}: only Api events run locally")
                path = event["Properties"]["Path"]
                routes.setdefault(path, Route(path, set())).methods.add(event["Properties"]["Method"].upper())
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_dir=self.project_dir / props["CodeUri"],
                module=module,
                handler=handler,
                environment={k: str(v) for k, v in environment.items() if not isinstance(v, AwsOnly)},
                routes=list(routes.values()),
            )
        return functions

    def binary_bodies(self) -> bool:
        """Whether the REST API passes every body as binary (binaryMediaTypes */*, written *~1* in SAM)."""
        for resource in self.of_type("AWS::Serverless::Api").values():
            types = self.resolve(resource["Properties"].get("BinaryMediaTypes", []), "BinaryMediaTypes")
            if any(t.replace("~1", "/") == "*/*" for t in types):
                return True
        return False

    def stage_throttle(self) -> tuple[float, float] | None:
        """(rate a second, burst) of the REST API's stage throttling, as the template's parameters resolve it."""
        for resource in self.of_type("AWS::Serverless::Api").values():
            for setting in self.resolve(resource["Properties"].get("MethodSettings", []), "MethodSettings"):
                if "ThrottlingRateLimit" in setting:
                    return float(setting["ThrottlingRateLimit"]), float(setting.get("ThrottlingBurstLimit", 0))
        return None

    def gateway_response_headers(self, response_type: str) -> dict[str, str]:
        """The static headers of a gateway response ('value' in the template: the quotes are CloudFormation's)."""
        for resource in self.of_type("AWS::Serverless::Api").values():
            response = resource["Properties"].get("GatewayResponses", {}).get(response_type)
            if response:
                headers = response.get("ResponseParameters", {}).get("Headers", {})
                return {name: str(value).strip("'") for name, value in headers.items()}
        raise TemplateError(f"no gateway response {response_type}")

    def gateway_response(self, response_type: str) -> tuple[int, dict[str, str]]:
        """Status and content-type -> body template of a gateway response of the REST API."""
        for resource in self.of_type("AWS::Serverless::Api").values():
            response = resource["Properties"].get("GatewayResponses", {}).get(response_type)
            if response:
                return int(response["StatusCode"]), dict(response.get("ResponseTemplates", {}))
        raise TemplateError(f"no gateway response {response_type}")
