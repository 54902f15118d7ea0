"""Each request writes one EMF line that names it; tracing costs nothing unless turned on."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drmtoken.adapters import aws
from drmtoken.core.token import Keyring, open_token
from drmtoken.observability import request_record
from tests.support.apigw import rest_event
from tests.support.emf import emf_lines
from tests.support.lambdas import FP_PATH, FUNCTIONS, WV_PATH, error_of, invoke
from tests.support.requests import fairplay, widevine

PROBE = """
import sys
sys.path[:0] = [{code!r}, {layer!r}]
import app
print("aws_xray_sdk" in sys.modules)
"""


@pytest.mark.parametrize(("disabled", "loads_xray"), [("true", "False"), ("false", "True")])
def test_xray_loads_only_when_tracing_is_on(disabled: str, loads_xray: str) -> None:
    spec = FUNCTIONS["WidevineFunction"]
    layer = str(spec.code_dir.parents[1] / "layers" / "drmtoken")
    code = PROBE.format(code=str(spec.code_dir), layer=layer)
    env = {"POWERTOOLS_TRACE_DISABLED": disabled, "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == loads_xray


# --- one EMF line per request -----------------------------------------------------


def test_an_issued_token_writes_one_line_naming_it(
    authenticator: str, keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    event = rest_event("GET", WV_PATH, widevine(authenticator, cookie="session-7"))
    response = invoke(event, "lambda-req-1")
    claims = open_token(keyring, response["body"].split("ExpressPlayToken=", 1)[1])

    (line,) = emf_lines(capsys.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "drm"]]
    assert line["TokensIssued"] == 1 and "TokensRejected" not in line
    assert (line["drm"], line["code"], line["status"]) == ("wv", "0", 200)
    assert line["requestId"] == event["requestContext"]["requestId"]
    assert line["lambdaRequestId"] == "lambda-req-1"
    for name in ("tokenId", "customerId", "kid", "cookie", "expiresAt"):
        assert line[name] == claims[name]


def test_a_refusal_writes_one_line_with_its_code_as_dimension(
    authenticator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_secret = authenticator.split(",")[0] + "," + "0" * 32
    response = invoke(rest_event("GET", FP_PATH, fairplay(wrong_secret, kid="^movie")), "lambda-req-2")
    assert error_of(response)[:2] == (401, -2018)

    (line,) = emf_lines(capsys.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "drm", "code"]]
    assert line["TokensRejected"] == 1 and "TokensIssued" not in line
    assert (line["drm"], line["code"], line["status"]) == ("fp", "-2018", 401)
    assert (line["customerId"], line["lambdaRequestId"]) == ("acme", "lambda-req-2")
    assert "tokenId" not in line


def test_a_failed_dependency_writes_a_warning_and_one_line(
    authenticator: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    monkeypatch.setattr(aws.client("dynamodb"), "transact_write_items", throttled)
    event = rest_event("GET", WV_PATH, widevine(authenticator))
    assert error_of(invoke(event, "lambda-req-3"))[:2] == (503, -2030)

    out = capsys.readouterr().out
    (line,) = emf_lines(out)
    assert (line["code"], line["status"], line["TokensRejected"]) == ("-2030", 503, 1)
    (warning,) = [vars(record) for record in caplog.records if record.levelname == "WARNING"]
    assert warning["lambdaRequestId"] == "lambda-req-3"
    assert warning["requestId"] == event["requestContext"]["requestId"]
    assert "ThrottlingException" in warning["reason"]


def test_record_facts_cannot_overwrite_the_metric() -> None:
    record = request_record("wv", -2018, 403, {"drm": "fp", "code": "0", "TokensRejected": 9, "_aws": {}}, 1)
    assert (record["drm"], record["code"], record["TokensRejected"]) == ("wv", "-2018", 1)
    assert record["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "TokensRejected", "Unit": "Count"}]
