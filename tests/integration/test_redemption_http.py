"""Every license kind over real HTTP: `drmtoken serve` on DynamoDB Local, pointed at the test's own stand-ins."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from drmtoken.core.token import Keyring
from drmtoken_cli.devserver.ksm_standin import KsmStandIn, fake_ckc
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.cli import drmtoken
from tests.support.requests import CONTENT_KEY, IV, fairplay, widevine
from tests.support.server import Server, http, start_server
from tests.support.widevine_proto import read_license

pytestmark = pytest.mark.integration
KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1
CHALLENGE = b"\x08\x01\x12\x10a CDM's license request"
SPC = b"an SPC"


@pytest.fixture
def stand_ins() -> Iterator[tuple[WidevineStandIn, KsmStandIn]]:
    with WidevineStandIn() as widevine_service, KsmStandIn() as ksm:
        yield widevine_service, ksm


@pytest.fixture
def served(
    local_env: dict[str, str], stand_ins: tuple[WidevineStandIn, KsmStandIn]
) -> Iterator[tuple[Server, str, dict[str, str]]]:
    """`drmtoken serve` on fresh tables of DynamoDB Local, pointed at this test's stand-ins."""
    dynamodb_local = local_env["AWS_ENDPOINT_URL_DYNAMODB"]
    widevine_service, ksm = stand_ins
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local,
        "TOKEN_KEYRING": Keyring.generate_json("h1"),
        "WIDEVINE_PROVIDER": widevine_service.provider_json(),
        "FAIRPLAY_KSM": ksm.url,
    }
    server = start_server(env, "--no-demo")
    drmtoken("customers", "create", "acme", env=env)
    authenticator = drmtoken("authenticators", "add", "acme", "--environment", "test", env=env).stdout.strip()
    yield server, authenticator, env
    assert server.stop() == 0


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_widevine_token_to_license(
    served: tuple[Server, str, dict[str, str]], stand_ins: tuple[WidevineStandIn, KsmStandIn]
) -> None:
    server, authenticator, _ = served
    query = urlencode(widevine(authenticator, securityLevel="2", hdcpOutputControl="1"))
    status, _, url = http("GET", f"{server.base}/hms/wv/token?{query}")
    assert status == 200 and url.startswith(f"{server.base}/hms/wv/rights/?ExpressPlayToken=")
    status, headers, license_bytes = post(url, CHALLENGE, "application/octet-stream")  # the URL as handed out
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    assert [key.id.hex() for key in read_license(license_bytes).key] == [KID1]  # read by Google's protobuf
    (seen,) = stand_ins[0].seen  # a correctly signed request, else the stand-in would have refused it
    (spec,) = seen["content_key_specs"]
    assert base64.b64decode(spec["key_id"]).hex() == KID1 and base64.b64decode(spec["key"]).hex() == CONTENT_KEY
    assert (spec["security_level"], spec["required_output_protection"]) == (2, {"hdcp": "HDCP_V1"})


@pytest.mark.parametrize("shape", ["raw", "form", "json"])
def test_fairplay_token_to_ckc_in_every_shape(
    shape: str, served: tuple[Server, str, dict[str, str]], stand_ins: tuple[WidevineStandIn, KsmStandIn]
) -> None:
    server, authenticator, _ = served
    ksm = stand_ins[1]
    ksm.expect = {"contentKey": CONTENT_KEY, "iv": IV}
    status, _, url = http("GET", f"{server.base}/hms/fp/token?{urlencode(fairplay(authenticator))}")
    assert status == 200
    encoded = base64.b64encode(SPC).decode()
    body, content_type = {
        "raw": (SPC, "application/octet-stream"),
        "form": (urlencode({"spc": encoded}).encode(), "application/x-www-form-urlencoded"),
        "json": (json.dumps({"spc": encoded}).encode(), "application/json"),
    }[shape]
    status, _headers, answer = post(url, body, content_type)
    assert status == 200, answer
    ckc = fake_ckc(SPC, CONTENT_KEY, IV)
    expected = {
        "raw": ckc,
        "form": f"<ckc>{base64.b64encode(ckc).decode()}</ckc>".encode(),
        "json": json.dumps({"ckc": base64.b64encode(ckc).decode()}).encode(),
    }[shape]
    assert answer == expected and len(ksm.seen) == 1


def test_clear_key_and_the_records_over_http(served: tuple[Server, str, dict[str, str]]) -> None:
    server, authenticator, _env = served
    status, _, url = http("GET", f"{server.base}/hms/wv/token?{urlencode(widevine(authenticator, cookie='h'))}")
    clearkey_url = url.replace("/hms/wv/rights/", "/hms/ck/rights/")
    request = json.dumps({"kids": [base64.urlsafe_b64encode(bytes.fromhex(KID1)).rstrip(b"=").decode()]}).encode()
    status, headers, answer = post(clearkey_url, request, "application/json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    (key,) = json.loads(answer)["keys"]
    assert base64.urlsafe_b64decode(key["k"] + "==").hex() == CONTENT_KEY
    status, _, page = http(
        "GET", f"{server.base}/cmiapi/getrecord/?{urlencode({'customerAuthenticator': authenticator, 'cookie': 'h'})}"
    )
    (record,) = json.loads(page)["records"]
    assert (record["drm"], record["status"], record["sourceIp"]) == ("ck", 200, "127.0.0.1")
    status, _, certificate = http("GET", f"{server.base}/hms/fp/cert")
    assert status == 200 and certificate  # the local stand-in certificate
    log = "".join(server.stderr)
    assert CONTENT_KEY not in log and url.split("=", 1)[1] not in log


def test_the_stand_ins_run_by_hand() -> None:
    import signal
    import subprocess

    from tests.support.cli import DRMTOKEN, subprocess_env

    for kind, variable in (("widevine", "WIDEVINE_PROVIDER="), ("ksm", "FAIRPLAY_KSM=")):
        process = subprocess.Popen(
            [str(DRMTOKEN), "stand-in", kind],
            env=subprocess_env({}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(variable) and "127.0.0.1" in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
