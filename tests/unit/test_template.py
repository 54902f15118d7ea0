"""template.yaml deploys what the contract needs: a REST API, the two routes, the 404, least privilege."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from drmtoken.apigw.responses import render_html_error
from drmtoken.core.drm import Drm
from drmtoken.core.errors import ERRORS
from tests.support.lambdas import FUNCTIONS, TEMPLATE, policy_statements

ROOT = Path(__file__).resolve().parents[2]
RESOURCES: dict[str, Any] = TEMPLATE.resources


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def test_one_rest_api_not_an_http_api() -> None:
    assert len(of_type("AWS::Serverless::Api")) == 1
    assert not of_type("AWS::Serverless::HttpApi")


def test_routes_and_methods() -> None:
    routes = {(route.path, frozenset(route.methods)) for spec in FUNCTIONS.values() for route in spec.routes}
    assert routes == {
        ("/hms/wv/token", frozenset({"GET", "POST", "ANY"})),
        ("/hms/fp/token", frozenset({"GET", "POST", "ANY"})),
        ("/", frozenset({"ANY"})),  # the catch-all: 404 -1000 in the caller's format
        ("/{proxy+}", frozenset({"ANY"})),
        ("/hms/ck/rights", frozenset({"POST", "ANY"})),  # ANY: the CORS preflight and 405s
        ("/cmiapi/getrecord", frozenset({"GET", "ANY"})),
        ("/cmiapi/streams", frozenset({"GET", "ANY"})),  # a viewer's open streams
        ("/cmiapi/streams/end", frozenset({"POST", "ANY"})),
        ("/hms/wv/rights", frozenset({"POST", "ANY"})),
        ("/hms/fp/rights", frozenset({"POST", "ANY"})),
        ("/hms/fp/cert", frozenset({"GET", "ANY"})),
        ("/speke/{customerId}", frozenset({"POST", "ANY"})),  # the key provider, SigV4 only
    }


def test_the_key_provider_takes_only_signed_requests() -> None:
    """Every event of the key provider's route is AWS_IAM: a packager's role signs with SigV4."""
    for event in RESOURCES["KeyProviderFunction"]["Properties"]["Events"].values():
        assert event["Properties"]["Path"] == "/speke/{customerId}"
        assert event["Properties"]["Auth"]["Authorizer"] == "AWS_IAM"
    others = [
        f for name, f in RESOURCES.items() if name != "KeyProviderFunction" and "Events" in f.get("Properties", {})
    ]
    assert all("Auth" not in e["Properties"] for f in others for e in f["Properties"]["Events"].values())


def test_functions_share_the_layer_built_for_their_runtime() -> None:
    """One runtime, chosen in docs/architecture.md; the layer is built by that Python and declared for it."""
    runtime = TEMPLATE.document["Globals"]["Function"]["Runtime"]
    assert runtime == "python3.13"
    layer = RESOURCES["DrmTokenLayer"]
    assert layer["Metadata"]["BuildMethod"] == runtime
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert TEMPLATE.document["Globals"]["Function"]["Layers"] == [{"Ref": "DrmTokenLayer"}]
    assert all("Runtime" not in RESOURCES[name]["Properties"] for name in FUNCTIONS)  # none differs
    assert f"LAMBDA_PYTHON := {runtime.removeprefix('python')}" in (ROOT / "Makefile").read_text()


def test_unknown_path_is_404_with_code_1000_in_both_formats() -> None:
    status, templates = TEMPLATE.gateway_response("MISSING_AUTHENTICATION_TOKEN")
    assert status == 404
    body = json.loads(templates["application/json"].replace("$context.requestId", "r1"))
    assert body == {"errorCode": -1000, "errorMessage": "Invalid URL", "requestId": "r1"}
    # The fallback body is exactly what the functions render, so the two cannot drift apart.
    assert templates["text/html"] == render_html_error(-1000, ERRORS[-1000][1], "$context.requestId")


def test_the_catch_all_function_may_call_nothing() -> None:
    assert "Policies" not in RESOURCES["UnknownPathFunction"]["Properties"]


HELD_KEYS_AND_INDEX = '[{"Fn::GetAtt": ["HeldKeysTable", "Arn"]}, {"Fn::Sub": "${HeldKeysTable.Arn}/index/byContent"}]'
TOKEN_FUNCTION_PERMISSIONS = {
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),
    ("dynamodb:BatchGetItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),  # a spent shard reads the others
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["ContentKeysTable", "Arn"]}'),
    ("dynamodb:GetItem", HELD_KEYS_AND_INDEX),  # the held-key form: one key, or a content's keys
    ("dynamodb:Query", HELD_KEYS_AND_INDEX),
    (
        "secretsmanager:GetSecretValue",
        '[{"Ref": "TokenKeyringSecret"}, {"Ref": "KeySealingSecret"}, {"Ref": "ViewerKeySecret"}]',
    ),  # the viewer key: a userId becomes its keyed hash before it is sealed
    ("kms:Decrypt", '{"Fn::GetAtt": ["TokenKeyringKey", "Arn"]}'),
}

KEY_PROVIDER_PERMISSIONS = {  # the customer's status, the held keys, the sealing key: nothing of tokens
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),
    ("dynamodb:BatchGetItem", '{"Fn::GetAtt": ["HeldKeysTable", "Arn"]}'),
    ("dynamodb:PutItem", '{"Fn::GetAtt": ["HeldKeysTable", "Arn"]}'),
    ("secretsmanager:GetSecretValue", '{"Ref": "KeySealingSecret"}'),
    ("kms:Decrypt", '{"Fn::GetAtt": ["TokenKeyringKey", "Arn"]}'),
}


RIGHTS_FUNCTION_PERMISSIONS = {  # records, use counters, stream slots, the keyring; never the customers table
    ("dynamodb:PutItem", '{"Fn::GetAtt": ["RecordsTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["RecordsTable", "Arn"]}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["RecordsTable", "Arn"]}'),  # a viewer's slots, read before an open
    ("secretsmanager:GetSecretValue", '{"Ref": "TokenKeyringSecret"}'),
    ("kms:Decrypt", '{"Fn::GetAtt": ["TokenKeyringKey", "Arn"]}'),
}


STREAMS_FUNCTION_PERMISSIONS = {  # authenticate, the viewer key, read and end a viewer's slots
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["RecordsTable", "Arn"]}'),
    ("dynamodb:UpdateItem", '{"Fn::GetAtt": ["RecordsTable", "Arn"]}'),
    ("secretsmanager:GetSecretValue", '{"Ref": "ViewerKeySecret"}'),
    ("kms:Decrypt", '{"Fn::GetAtt": ["TokenKeyringKey", "Arn"]}'),
}


RECORDS_FUNCTION_PERMISSIONS = {  # authenticate, then one query per page: nothing else
    ("dynamodb:GetItem", '{"Fn::GetAtt": ["CustomersTable", "Arn"]}'),
    ("dynamodb:Query", '[{"Fn::GetAtt": ["RecordsTable", "Arn"]}, {"Fn::Sub": "${RecordsTable.Arn}/index/byCookie"}]'),
}


def test_clear_key_is_refused_on_prod_by_the_template() -> None:
    (rule,) = TEMPLATE.document["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "ClearKeyEnabled"}, "false"]}


def test_the_api_passes_every_body_as_binary() -> None:
    assert TEMPLATE.binary_bodies()


def test_records_expire_and_serve_the_cookie_query() -> None:
    records = TEMPLATE.tables()["RecordsTable"]
    assert records["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    (index,) = records["GlobalSecondaryIndexes"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["cookieKey", "sk"]


def test_every_function_has_exactly_the_permissions_of_its_adapters() -> None:
    """Token routes: the account gate, key store and keyring; the catch-all: nothing at all."""
    for name, spec in FUNCTIONS.items():
        statements = policy_statements(name)
        granted = {(action, json.dumps(s["Resource"])) for s in statements for action in s["Action"]}
        paths = {route.path for route in spec.routes}
        expected = (
            TOKEN_FUNCTION_PERMISSIONS
            if any(path.endswith("/token") for path in paths)
            else RIGHTS_FUNCTION_PERMISSIONS
            if any(path.endswith("/rights") for path in paths)
            else RECORDS_FUNCTION_PERMISSIONS
            if any(path.endswith("/getrecord") for path in paths)
            else STREAMS_FUNCTION_PERMISSIONS
            if any(path.startswith("/cmiapi/streams") for path in paths)
            else KEY_PROVIDER_PERMISSIONS
            if any(path.startswith("/speke/") for path in paths)
            else set()
        )
        if name == "WidevineRightsFunction":  # and it alone reads the provider's signing credentials
            expected = expected | {("secretsmanager:GetSecretValue", '{"Ref": "WidevineProviderSecret"}')}
        if name == "FairPlayRightsFunction":  # and it alone may invoke the one KSM function
            ksm = RESOURCES[name]["Properties"]["Policies"][1]["Fn::If"][1]["Statement"][0]["Resource"]
            expected = expected | {("lambda:InvokeFunction", json.dumps(ksm))}
        assert granted == expected, name
        for kms in (s for s in statements if s["Action"] == ["kms:Decrypt"]):
            assert "kms:ViaService" in kms["Condition"]["StringEquals"]  # only through Secrets Manager


def test_tables_are_on_demand_recoverable_and_protected() -> None:
    for table in of_type("AWS::DynamoDB::Table").values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
        assert props["SSESpecification"] == {"SSEEnabled": True}


def test_local_environment_resolves_from_parameters() -> None:
    env = FUNCTIONS["FairPlayFunction"].environment
    assert env["CUSTOMERS_TABLE"] == "drm-token-customers"
    assert env["CONTENT_KEYS_TABLE"] == "drm-token-content-keys"
    assert env["ENVIRONMENT"] == "test"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert "TOKEN_KEYRING_SECRET" not in env  # only AWS knows the secret's ARN


def test_outputs_give_both_token_urls() -> None:
    outputs = TEMPLATE.document["Outputs"]
    assert outputs["WidevineTokenUrl"]["Value"]["Fn::Sub"].endswith("/hms/wv/token")
    assert outputs["FairPlayTokenUrl"]["Value"]["Fn::Sub"].endswith("/hms/fp/token")


CHECKOV = Path(__file__).resolve().parents[2] / ".tools" / "checkov" / "bin" / "checkov"


def test_checkov_finds_nothing_unexplained() -> None:
    """checkov passes; every check skipped in template.yaml says why, in the template."""
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: `make test` installs it into .tools/checkov")
    result = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE.path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0
    assert summary["passed"] >= 20
    for name, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"


def test_deployment_is_locked_down() -> None:
    api = RESOURCES["TokenApi"]["Properties"]
    throttle = api["MethodSettings"][0]
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert throttle["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    parameters = TEMPLATE.document["Parameters"]
    # Sized for a live event, not a demo: API Gateway's own regional defaults.
    assert parameters["ApiThrottlingRateLimit"]["Default"] == 10000
    assert parameters["ApiThrottlingBurstLimit"]["Default"] == 5000
    access_format = api["AccessLogSetting"]["Format"]
    assert "$context.requestId" in access_format
    assert "querystring" not in access_format.lower() and "$input" not in access_format  # no secrets in access logs
    for domain in ("WidevineDomain", "FairPlayDomain"):
        assert RESOURCES[domain]["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert RESOURCES["TokenKeyringSecret"]["Properties"]["KmsKeyId"] == {"Ref": "TokenKeyringKey"}
    assert RESOURCES["TokenKeyringKey"]["Properties"]["EnableKeyRotation"] is True


def alarm_metrics(name: str) -> tuple[str, list[dict[str, Any]]]:
    """(expression, metric stats) of an alarm; every stat must feed the expression."""
    metrics = RESOURCES[name]["Properties"]["Metrics"]
    (expression,) = [m["Expression"] for m in metrics if m.get("ReturnData")]
    stats = [m for m in metrics if "MetricStat" in m]
    assert all(not m["ReturnData"] and f"FILL({m['Id']}, 0)" in expression for m in stats)
    return expression, [m["MetricStat"] for m in stats]


def test_unavailable_alarm_watches_the_line_the_functions_write() -> None:
    from drmtoken.observability import KEY_METRICS, LICENSE_METRICS, TOKEN_METRICS, request_record

    variables = TEMPLATE.document["Globals"]["Function"]["Environment"]["Variables"]
    _, stats = alarm_metrics("TokensUnavailableAlarm")
    watched = set()
    for stat in stats:
        dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        name = stat["Metric"]["MetricName"]
        side = next(pair for pair in (LICENSE_METRICS, KEY_METRICS, TOKEN_METRICS) if name in pair)
        record = request_record(dimensions["drm"], -2030, 503, {}, 0, side)
        directive = record["_aws"]["CloudWatchMetrics"][0]
        assert stat["Metric"]["Namespace"] == directive["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
        assert stat["Metric"]["MetricName"] == directive["Metrics"][0]["Name"]
        assert dimensions == {name: record[name] for name in directive["Dimensions"][0]}
        assert dimensions["service"] == variables["POWERTOOLS_SERVICE_NAME"]
        watched.add((side, dimensions["drm"]))
    rights_routes = {path.split("/")[2] for spec in FUNCTIONS.values() for path in paths_of(spec) if "rights" in path}
    # Every token DRM of the profile table, every rights route the template serves, the key provider.
    assert watched == (
        {(TOKEN_METRICS, drm.value) for drm in Drm}
        | {(LICENSE_METRICS, r) for r in rights_routes}
        | {(KEY_METRICS, "speke")}
    )


def paths_of(spec: Any) -> set[str]:
    return {route.path for route in spec.routes}


def test_failing_functions_alarm_watches_errors_and_throttles_of_every_function() -> None:
    _, stats = alarm_metrics("TokenFunctionsFailingAlarm")
    watched = {(s["Metric"]["MetricName"], s["Metric"]["Dimensions"][0]["Value"]["Ref"]) for s in stats}
    assert watched == {(m, f) for m in ("Errors", "Throttles") for f in FUNCTIONS}


SIDES = {
    "Token": {"WidevineFunction", "FairPlayFunction"},
    "Rights": {"WidevineRightsFunction", "FairPlayRightsFunction", "ClearKeyRightsFunction", "RecordsFunction"},
    "KeyProvider": {"KeyProviderFunction"},
}


def test_reserved_concurrency_is_off_by_default_and_set_per_side() -> None:
    """Reserving takes from the account's 1,000 by default and caps the function: an operator's choice, per side."""
    parameters = TEMPLATE.document["Parameters"]
    for side, functions in SIDES.items():
        assert parameters[f"{side}ReservedConcurrency"]["Default"] == 0
        for name in functions:
            reserved = RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"]
            assert reserved == {
                "Fn::If": [f"Reserves{side}Concurrency", {"Ref": f"{side}ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
            }
    assert "ReservedConcurrentExecutions" not in RESOURCES["UnknownPathFunction"]["Properties"]
    assert "FunctionConcurrencyLimit" not in parameters


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")


def test_the_readme_counts_the_functions_the_template_has() -> None:
    functions = [name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{NUMBER_WORDS[len(functions)]} Lambda functions" in " ".join(readme.split())


def test_the_stack_says_when_the_widevine_provider_secret_is_empty() -> None:
    """A plain `sam deploy` after a one-off --parameter-overrides blanks it: the outputs say so, loudly."""
    value = TEMPLATE.document["Outputs"]["WidevineProvider"]["Value"]["Fn::If"]
    assert value[0] == "HasWidevineProvider" and value[1] == "configured" and "NOT CONFIGURED" in value[2]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "WidevineProviderSecret=<the ARN printed above> --save-params" in readme
