"""Every `drmtoken` subcommand, run as the installed command against DynamoDB Local."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from drmtoken import runtime
from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.devserver.demo import DEMO_AUTHENTICATOR, DEMO_CUSTOMER, DEMO_SECRET
from drmtoken_cli.devserver.net import free_port
from tests.support.apigw import rest_event
from tests.support.cli import drmtoken
from tests.support.lambdas import FP_PATH, WV_PATH, error_of, invoke
from tests.support.requests import REMOVE, RFC3394_EK, RFC3394_KEK, RFC3394_KEY, fairplay, widevine

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[2] / "events"


def show(customer: str, env: dict[str, str]) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(drmtoken("customers", "show", customer, env=env).stdout)
    return shown


def test_tables_create_is_idempotent(env: dict[str, str]) -> None:
    client = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"])
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    first = drmtoken("tables", "create", env=env).stdout.splitlines()
    tables = ["drm-token-customers", "drm-token-content-keys", "drm-token-held-keys", "drm-token-records"]
    assert first == [f"{name}\tcreated" for name in tables]
    assert drmtoken("tables", "create", env=env).stdout.splitlines() == [f"{name}\texists" for name in tables]
    keys = client.describe_table(TableName="drm-token-content-keys")["Table"]["KeySchema"]
    assert keys == [{"AttributeName": "customerId", "KeyType": "HASH"}, {"AttributeName": "kid", "KeyType": "RANGE"}]


def test_customer_lifecycle(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", "--no-fairplay", "--token-limit", "test=10", env=env)
    assert show("acme", env) == {
        "customerId": "acme",
        "status": "active",
        "entitlements": {"widevine": True, "fairplay": False},
        "shards": 1,
        "environments": {
            "test": {"tokensIssued": 0, "tokenLimit": 10, "liveAuthenticators": 0},
            "prod": {"tokensIssued": 0, "tokenLimit": None, "liveAuthenticators": 0},
        },
    }
    again = drmtoken("customers", "create", "acme", env=env, check=False)
    assert again.returncode == 1 and again.stderr.strip() == "drmtoken: customer acme already exists; nothing changed"
    assert show("acme", env)["entitlements"] == {"widevine": True, "fairplay": False}

    drmtoken("customers", "set-drm", "acme", "--fairplay", env=env)
    drmtoken("customers", "set-limit", "acme", "--environment", "prod", "5", env=env)
    drmtoken("customers", "set-limit", "acme", "--environment", "test", "--unlimited", env=env)
    drmtoken("customers", "disable", "acme", env=env)
    customer = show("acme", env)
    assert customer["status"] == "disabled"
    assert customer["entitlements"] == {"widevine": True, "fairplay": True}
    assert customer["environments"]["prod"]["tokenLimit"] == 5
    assert customer["environments"]["test"]["tokenLimit"] is None
    drmtoken("customers", "enable", "acme", env=env)
    assert show("acme", env)["status"] == "active"


def test_list_in_lines_and_json(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "beta", env=env)
    drmtoken("customers", "create", "alpha", "--no-widevine", "--token-limit", "prod=3", env=env)
    lines = drmtoken("customers", "list", env=env).stdout.splitlines()
    assert lines == [
        "alpha\tactive\tfairplay\ttest=0/unlimited(0 auth) prod=0/3(0 auth)",
        "beta\tactive\tfairplay,widevine\ttest=0/unlimited(0 auth) prod=0/unlimited(0 auth)",
    ]
    listed = json.loads(drmtoken("customers", "list", "--json", env=env).stdout)
    assert [c["customerId"] for c in listed] == ["alpha", "beta"]


def test_authenticators_add_and_revoke_work_on_the_next_request(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)
    added = drmtoken("authenticators", "add", "acme", "--environment", "test", env=env)
    lines = added.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acme,") and len(lines[0]) == len("acme,") + 32
    authenticator = lines[0]
    assert invoke(rest_event("GET", WV_PATH, widevine(authenticator)))["statusCode"] == 200
    assert show("acme", env)["environments"]["test"] == {
        "tokensIssued": 1,
        "tokenLimit": None,
        "liveAuthenticators": 1,
    }
    drmtoken("authenticators", "revoke", "acme", authenticator, env=env)
    assert error_of(invoke(rest_event("GET", WV_PATH, widevine(authenticator))))[1] == -2018
    again = drmtoken("authenticators", "revoke", "acme", authenticator, env=env, check=False)
    assert again.returncode == 1 and "no live authenticator" in again.stderr


def test_prod_authenticator_is_refused_by_a_test_deployment(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)
    prod = drmtoken("authenticators", "add", "acme", "--environment", "prod", env=env).stdout.strip()
    assert error_of(invoke(rest_event("GET", FP_PATH, fairplay(prod))))[1] == -2018


def test_keys_put_and_delete(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)
    authenticator = drmtoken("authenticators", "add", "acme", "--environment", "test", env=env).stdout.strip()
    drmtoken("keys", "put", "acme", "^kid1", "--ek", RFC3394_EK, env=env)
    request = fairplay(authenticator, contentKey=REMOVE, kek=RFC3394_KEK, kid="^kid1")
    response = invoke(rest_event("GET", FP_PATH, request))
    assert response["statusCode"] == 200
    drmtoken("keys", "delete", "acme", "80ea8bc8a58f990ad1f76bc665b30bfa", env=env)
    # A warm function keeps a key it read for a minute (docs/data-model.md); a new instance finds none.
    assert invoke(rest_event("GET", FP_PATH, request))["statusCode"] == 200
    runtime.reset()
    assert error_of(invoke(rest_event("GET", FP_PATH, request)))[1] == -4019
    gone = drmtoken("keys", "delete", "acme", "^kid1", env=env, check=False)
    assert gone.returncode == 1
    bad = drmtoken("keys", "put", "acme", "^kid1", "--ek", "1234", env=env, check=False)
    assert bad.returncode == 2 and "48 hex digits" in bad.stderr


def test_tokens_inspect_hides_the_key_unless_asked(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)
    authenticator = drmtoken("authenticators", "add", "acme", "--environment", "test", env=env).stdout.strip()
    url = invoke(rest_event("GET", WV_PATH, widevine(authenticator, cookie="ticket-9")))["body"]
    shown = json.loads(drmtoken("tokens", "inspect", url, env=env).stdout)
    assert shown["expired"] is False and shown["keyId"] == "t1"
    assert shown["claims"]["cookie"] == "ticket-9" and shown["claims"]["customerId"] == "acme"
    assert shown["claims"]["contentKey"] == "(hidden: use --show-key)"
    token = url.split("=", 1)[1]
    with_key = json.loads(drmtoken("tokens", "inspect", token, "--show-key", env=env).stdout)
    assert with_key["claims"]["contentKey"] == widevine(authenticator)[2][1]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    failed = drmtoken("tokens", "inspect", tampered, env=env, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("drmtoken: token does not open: tampered")


def test_missing_customer_and_bad_arguments(env: dict[str, str]) -> None:
    missing = drmtoken("customers", "disable", "ghost", env=env, check=False)
    assert (missing.returncode, missing.stderr) == (1, "drmtoken: no customer ghost\n")
    bad = drmtoken("customers", "create", "bad/id", env=env, check=False)
    assert bad.returncode == 2 and "customer ID" in bad.stderr
    limit = drmtoken("customers", "create", "x", "--token-limit", "staging=4", env=env, check=False)
    assert limit.returncode == 2


def test_unreachable_engine_is_one_line(env: dict[str, str]) -> None:
    down = {**env, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}"}
    result = drmtoken("customers", "list", env=down, check=False)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("drmtoken: DynamoDB failed")


def test_invoke_runs_an_event_file_like_sam_local_invoke(env: dict[str, str]) -> None:
    drmtoken("customers", "create", DEMO_CUSTOMER, env=env)
    from drmtoken.adapters import aws
    from drmtoken_cli.admin_store import AdminStore  # add the demo's known secret, as `serve` does

    AdminStore(aws.client("dynamodb"), "drm-token-customers", "drm-token-content-keys").add_authenticator(
        DEMO_CUSTOMER, "test", secret=DEMO_SECRET
    )
    result = drmtoken("invoke", "WidevineFunction", str(EVENTS / "wv-get-kek-ek.json"), env=env)
    response = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert response["statusCode"] == 200
    claims = open_token(Keyring.from_json(env["TOKEN_KEYRING"]), response["body"].split("=", 1)[1], "wv")
    assert claims["contentKey"] == RFC3394_KEY and claims["customerId"] == DEMO_AUTHENTICATOR.split(",")[0]
    error = drmtoken("invoke", "FairPlayFunction", str(EVENTS / "fp-error-invalid-iv-json.json"), env=env)
    assert json.loads(error.stdout[error.stdout.index("{\n") :])["statusCode"] == 400
    unknown = drmtoken("invoke", "NoSuchFunction", str(EVENTS / "wv-get.json"), env=env, check=False)
    assert unknown.returncode == 1 and "WidevineFunction" in unknown.stderr


def test_keyring_generate_and_rotate(env: dict[str, str], secrets_endpoint: str) -> None:
    generated = drmtoken("keyring", "generate", "--key-id", "a1", env=env).stdout
    first = Keyring.from_json(generated)
    assert first.active == "a1"
    client = boto3.client("secretsmanager", endpoint_url=secrets_endpoint)
    client.create_secret(Name="ring", SecretString=json.dumps({"active": "k1", "keys": json.loads(generated)["keys"]}))
    rotate_env = {**env, "AWS_ENDPOINT_URL_SECRETSMANAGER": secrets_endpoint}
    said = [drmtoken("keyring", "rotate", "--secret-id", "ring", "--keep", "2", env=rotate_env) for _ in range(3)]
    ring = json.loads(client.get_secret_value(SecretId="ring")["SecretString"])
    # a1 and k1 are past --keep 2 but just retired: tokens they sealed may still be open, so they stay
    assert ring["active"] == "k3" and sorted(ring["keys"]) == ["a1", "k1", "k2", "k3"]
    assert "active key is now k3; removed: none" in said[-1].stderr
    assert "kept a1 past --keep: tokens it sealed may be open until" in said[-1].stderr
    Keyring.from_json(json.dumps(ring))


def test_invoke_exits_non_zero_when_the_function_answers_a_5xx(env: dict[str, str]) -> None:
    unreachable = {**env, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"}  # nothing listens: 503
    result = drmtoken("invoke", "WidevineFunction", str(EVENTS / "wv-get.json"), env=unreachable, check=False)
    assert result.returncode == 1 and '"statusCode": 503' in result.stdout


def test_tokens_inspect_finds_the_local_keyring_from_any_directory(env: dict[str, str], tmp_path: Path) -> None:
    import subprocess

    from drmtoken.core.token import seal_token
    from drmtoken_cli.devserver.local_keyring import ensure_local_keyring
    from tests.support.cli import DRMTOKEN, subprocess_env
    from tests.support.lambdas import ROOT

    keyring = Keyring.from_json(ensure_local_keyring(ROOT))  # the keyring `make run` uses
    claims = {"tokenId": "t", "drm": "wv", "expiresAt": 1, "keys": [{"kid": "ab" * 16, "key": "cd" * 16}]}
    token = seal_token(keyring, "wv", claims)
    result = subprocess.run(
        [str(DRMTOKEN), "tokens", "inspect", token],
        env=subprocess_env({}),
        cwd=tmp_path,  # not the project directory
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)["claims"]["keys"][0]
    assert shown["kid"] == "ab" * 16 and shown["key"].startswith("(hidden")
