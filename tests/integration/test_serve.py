"""`drmtoken serve` end to end: a real HTTP server, real DynamoDB, the real command to provision and inspect."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.cli import drmtoken
from tests.support.requests import CONTENT_KEY, REMOVE, fairplay, widevine
from tests.support.server import Server, http, raw_exchange, start_server

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    server = start_server(env, "--no-demo")
    yield server
    if server.process.poll() is None:
        server.stop()


def inspect(url: str, env: dict[str, str]) -> dict[str, object]:
    claims: dict[str, object] = json.loads(drmtoken("tokens", "inspect", url, "--show-key", env=env).stdout)["claims"]
    return claims


def test_tokens_and_errors_over_http(server: Server, env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)
    authenticator = drmtoken("authenticators", "add", "acme", "--environment", "test", env=env).stdout.strip()

    status, headers, wv_get = http(
        "GET", f"{server.base}/hms/wv/token?{urlencode(widevine(authenticator, cookie='c1'))}"
    )
    assert (status, headers["Content-Type"]) == (200, "text/uri-list")
    form = urlencode(widevine(authenticator, cookie="c1")).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, wv_post = http("POST", f"{server.base}/hms/wv/token", form, form_type)
    assert status == 200
    get_claims, post_claims = inspect(wv_get, env), inspect(wv_post, env)
    for volatile in ("tokenId", "issuedAt", "expiresAt"):
        get_claims.pop(volatile), post_claims.pop(volatile)
    assert get_claims == post_claims
    assert get_claims["contentKey"] == CONTENT_KEY and get_claims["cookie"] == "c1"

    status, _, fp_get = http("GET", f"{server.base}/hms/fp/token?{urlencode(fairplay(authenticator))}")
    fp_form = urlencode(fairplay(authenticator, rentalDuration="60")).encode()
    status_post, _, fp_post = http("POST", f"{server.base}/hms/fp/token", fp_form, form_type)
    assert (status, status_post) == (200, 200)
    assert inspect(fp_get, env)["drm"] == "fp" and inspect(fp_post, env)["rentalDuration"] == 60
    assert (
        json.loads(drmtoken("customers", "show", "acme", env=env).stdout)["environments"]["test"]["tokensIssued"] == 4
    )

    query = urlencode(widevine(authenticator, kid=REMOVE))
    status, headers, body = http("GET", f"{server.base}/hms/wv/token?{query}")
    assert (status, headers["Content-Type"]) == (400, "text/html; charset=utf-8") and "Error -4018" in body
    status, headers, body = http("GET", f"{server.base}/hms/wv/token?{query}&errorFormat=json")
    assert (status, headers["Content-Type"], json.loads(body)["errorCode"]) == (400, "application/json", -4018)
    wrong_secret = urlencode(fairplay("acme," + "0" * 32, errorFormat="json"))
    status, headers, body = http("GET", f"{server.base}/hms/fp/token?{wrong_secret}")
    assert (status, json.loads(body)["errorCode"]) == (401, -2018)

    status, headers, body = http("DELETE", f"{server.base}/hms/fp/token?errorFormat=json")
    assert (status, headers["Allow"], json.loads(body)["errorCode"]) == (405, "GET, POST", -1001)
    status, headers, body = http("GET", f"{server.base}/hms/xx/token", headers={"Accept": "application/json"})
    assert (status, json.loads(body)["errorCode"]) == (404, -1000)
    status, headers, body = http("GET", f"{server.base}/")
    assert (status, headers["Content-Type"]) == (404, "text/html; charset=utf-8") and "Error -1000" in body
    status, headers, body = http("GET", f"{server.base}/hms/xx/token?errorFormat=json")
    assert (status, headers["Content-Type"], json.loads(body)["errorCode"]) == (404, "application/json", -1000)

    assert server.stop() == 0
    log = "".join(server.stderr)
    assert "GET /hms/wv/token 200 0 " in log and "DELETE /hms/fp/token 405 -1001 " in log
    assert authenticator.split(",")[1] not in log and CONTENT_KEY not in log
    assert log.rstrip().endswith("stopped")


def test_embedded_engine_demo_and_the_readme_curl_line(tmp_path: Path) -> None:
    """What `make run` does on a fresh machine: no engine configured, the demo customer, the README's curl."""
    server = start_server({})  # no AWS_ENDPOINT_URL_DYNAMODB, no TOKEN_KEYRING
    try:
        banner = "".join(server.stderr)
        assert "embedded in-memory DynamoDB (moto)" in banner and "demo customer: demo," in banner
        # One line makes the CLI talk to this engine: the demo customer is there to see.
        line = next(x for x in banner.splitlines() if "export AWS_ENDPOINT_URL_DYNAMODB=" in x)
        cli_env = dict(pair.split("=", 1) for pair in line.split("export ", 1)[1].split())
        listed = drmtoken("customers", "list", "--json", env=cli_env).stdout
        assert '"demo"' in listed
        readme_curl = next(
            line.strip() for line in README.read_text().splitlines() if line.strip().startswith("curl '")
        )
        command = shlex.split(readme_curl.replace("http://127.0.0.1:3000", server.base))
        answer = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
        readme = README.read_text()
        shown = re.search(r"^(http://127\.0\.0\.1:3000/hms/wv/rights/\?ExpressPlayToken=)\S+$", readme, re.MULTILINE)
        assert shown is not None, "the README shows the answer of its curl line"
        # make run hands out its own rights routes as the license URL
        assert answer.startswith(shown.group(1).replace("http://127.0.0.1:3000", server.base)) and "\n" not in answer
        printed = [line.strip() for line in server.stderr if line.strip().startswith("curl ")]
        assert len(printed) == 3
        for line in printed[:2]:
            result = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=30, check=True)
            assert result.stdout.startswith(f"{server.base}/hms/") and "ExpressPlayToken=" in result.stdout
        # The third redeems the demo token at the Clear Key route: a shell line, run by a shell.
        redeemed = subprocess.run(["sh", "-c", printed[2]], capture_output=True, text=True, timeout=30, check=True)
        assert json.loads(redeemed.stdout)["keys"][0]["k"] == "ABEiM0RVZneImaq7zN3u_w"  # the demo content key
        # The README's redemption line answers what the README shows under it.
        readme_lines = readme.splitlines()
        at = next(i for i, line in enumerate(readme_lines) if line.startswith('curl -s "$('))
        readme_redeem = readme_lines[at].replace("http://127.0.0.1:3000", server.base)
        shown_license = next(line for line in readme_lines[at:] if line.startswith('{"keys"'))
        redeemed = subprocess.run(["sh", "-c", readme_redeem], capture_output=True, text=True, timeout=30, check=True)
        assert json.loads(redeemed.stdout) == json.loads(shown_license)
        # The README's worked error answers what the README shows, to the word.
        at = next(i for i, line in enumerate(readme_lines) if "&errorFormat=json'" in line and line.startswith("curl"))
        refused = subprocess.run(
            shlex.split(readme_lines[at].replace("http://127.0.0.1:3000", server.base)),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        shown_error = json.loads(next(line for line in readme_lines[at:] if line.startswith('{"errorCode"')))
        assert {**json.loads(refused.stdout), "requestId": "..."} == shown_error
    finally:
        assert server.stop(signal.SIGINT) == 0  # Ctrl-C
    assert "".join(server.stderr).rstrip().endswith("stopped")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Content-Length: abc\r\n", b"400"),
        (b"Content-Length: -1\r\n", b"400"),
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", b"400"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"400"),
        (b"Transfer-Encoding: gzip, chunked\r\n", b"400"),
    ],
)
def test_malformed_framing_is_answered_and_the_connection_closed(server: Server, headers: bytes, status: bytes) -> None:
    smuggled = b"GET /hms/wv/token HTTP/1.1\r\nHost: x\r\n\r\n"
    request = b"POST /hms/wv/token HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n" + b"5\r\nhello\r\n0\r\n\r\n" + smuggled
    answer = raw_exchange(server.base, request)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]
    assert answer.count(b"HTTP/1.1 ") == 1  # the body's bytes were not read as a next request
    assert server.process.poll() is None
    status_ok, _, _ = http("GET", f"{server.base}/hms/wv/token?errorFormat=json")
    assert status_ok == 401  # still serving
    assert "Traceback" not in "".join(server.stderr)


def test_a_chunked_body_is_read_as_the_body(server: Server) -> None:
    """The chunks are the form body (errorFormat=json is honoured), not the start of a next request."""
    body = b"errorFormat=json"
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    request = b"POST /hms/wv/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    request += b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
    answer = raw_exchange(server.base, request)
    assert answer.startswith(b"HTTP/1.1 401") and b"application/json" in answer and b"-2017" in answer
    assert answer.count(b"HTTP/1.1 ") == 1


def test_control_characters_in_the_path_cannot_forge_log_lines(server: Server) -> None:
    # Cursor up, erase the line, step back: a terminal would show only "/forged ...".
    answer = raw_exchange(server.base, b"GET /x\x1b[1A\x1b[2K\x08\x08/forged HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    assert answer.startswith(b"HTTP/1.1 404")
    server.stop()
    log = "".join(server.stderr)
    assert "\x1b" not in log and "\x08" not in log and "\r" not in log
    assert "GET /x\\x1b[1A\\x1b[2K\\x08\\x08/forged 404 -1000 " in log


def test_serve_on_prod_answers_every_route_with_clear_key_off(env: dict[str, str]) -> None:
    server = start_server(env, "--no-demo", "--environment", "prod")
    try:
        assert "Clear Key: off" in "".join(server.stderr)
        for method, path in (("GET", "/hms/fp/cert"), ("GET", "/cmiapi/getrecord/"), ("POST", "/hms/ck/rights/")):
            status, _, body = http(method, server.base + path, b"{}" if method == "POST" else None)
            assert body and status < 500, (path, status, body)
        status, _, body = http("OPTIONS", server.base + "/hms/ck/rights/", headers={"Origin": "https://a.example"})
        assert status == 404 and '"errorCode": -1000' in body
    finally:
        assert server.stop() == 0


def test_above_the_stage_throttle_the_gateway_answers_429_in_the_service_format(env: dict[str, str]) -> None:
    """The template's THROTTLED response, served as API Gateway would once the stage's bucket is empty."""
    overrides = ("--parameter-overrides", "ApiThrottlingRateLimit=1", "ApiThrottlingBurstLimit=2")
    server = start_server(env, "--no-demo", *overrides)
    try:
        accepts = ["application/json", "text/html"] * 5
        answers = [http("GET", server.base + "/hms/wv/token", headers={"Accept": accept}) for accept in accepts]
        statuses = [status for status, _, _ in answers]
        assert statuses[:2] == [401, 401] and statuses.count(429) >= 6  # the burst of 2, then refused
        refused = [(accept, answer) for accept, answer in zip(accepts, answers, strict=True) if answer[0] == 429]
        for accept, (_, headers, body) in refused:
            assert headers["Retry-After"] == "1" and headers["Cache-Control"] == "no-store"
            if accept == "application/json":
                assert json.loads(body)["errorCode"] == -2039 and "Retry-After" in body
            else:  # HTML unless Accept prefers JSON
                assert "<h1>Error -2039</h1>" in body
        assert {accept for accept, _ in refused} == set(accepts)
    finally:
        assert server.stop() == 0
