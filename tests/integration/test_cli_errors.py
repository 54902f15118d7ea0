"""Every failure of `drmtoken` is one line on stderr (exit 1, or 2 for usage), never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest

from drmtoken.core.token import Keyring, open_token, seal_token
from tests.support.cli import drmtoken

pytestmark = pytest.mark.integration


def one_line_failure(result: subprocess.CompletedProcess[str], status: int, words: str) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("drmtoken: ") or result.stderr.startswith("usage:") or "error:" in result.stderr
    assert words in result.stderr, result.stderr


def new_secret(endpoint: str, text: str) -> str:
    """A keyring secret of its own: moto's servers in one process share their state."""
    name = f"ring-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager", endpoint_url=endpoint).create_secret(Name=name, SecretString=text)
    return name


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def acme(env: dict[str, str]) -> None:
    drmtoken("customers", "create", "acme", env=env)


@pytest.mark.parametrize(
    ("limit", "words"),
    [("²", "not a whole number"), ("٣", "not a whole number"), ("9" * 41, "at most"), ("-1", "not a whole number")],
)
def test_set_limit_refuses_what_is_not_an_allowance(acme: None, env: dict[str, str], limit: str, words: str) -> None:
    result = drmtoken("customers", "set-limit", "acme", "--environment", "test", limit, env=env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert words in last_line(result)


def test_set_limit_reads_leading_zeros_as_the_number(acme: None, env: dict[str, str]) -> None:
    drmtoken("customers", "set-limit", "acme", "--environment", "test", "0000000000005", env=env)
    shown = json.loads(drmtoken("customers", "show", "acme", env=env).stdout)
    assert shown["environments"]["test"]["tokenLimit"] == 5


def test_invoke_with_a_missing_or_broken_event_file(env: dict[str, str], tmp_path: Path) -> None:
    missing = drmtoken("invoke", "WidevineFunction", str(tmp_path / "none.json"), env=env, check=False)
    one_line_failure(missing, 1, "cannot read")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    one_line_failure(drmtoken("invoke", "WidevineFunction", str(broken), env=env, check=False), 1, "not a JSON event")
    broken.write_text("[1, 2]")
    one_line_failure(drmtoken("invoke", "WidevineFunction", str(broken), env=env, check=False), 1, "not a JSON event")


def test_serve_on_a_port_it_cannot_have(env: dict[str, str]) -> None:
    result = drmtoken("serve", "--port", "70000", env=env, check=False)
    assert result.returncode == 2 and "not a TCP port" in last_line(result) and "Traceback" not in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = drmtoken("serve", "--port", port, env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert last_line(result).startswith(f"drmtoken: cannot listen on 127.0.0.1:{port}")
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: binding fails at once, nothing is sent.
    result = drmtoken("serve", "--host", "192.0.2.1", "--port", "0", env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert last_line(result).startswith("drmtoken: cannot listen on 192.0.2.1")


@pytest.mark.parametrize("key_id", ["bad id!", "", "x" * 17])
def test_keyring_generate_refuses_a_key_id_the_service_would_refuse(env: dict[str, str], key_id: str) -> None:
    result = drmtoken("keyring", "generate", "--key-id", key_id, env=env, check=False)
    assert result.returncode == 2 and "key id is 1-16" in last_line(result)


def test_keyring_generate_makes_a_keyring_the_service_loads(env: dict[str, str]) -> None:
    generated = drmtoken("keyring", "generate", "--key-id", "A_z-9", env=env).stdout
    assert Keyring.from_json(generated).active == "A_z-9"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--key-id", "bad id"], "key id is 1-16"),
        (["--keep", "0"], "at least 2"),
        (["--keep", "1"], "at least 2"),
    ],
)
def test_keyring_rotate_usage_errors(
    env: dict[str, str], secrets_endpoint: str, arguments: list[str], words: str
) -> None:
    result = drmtoken(
        "keyring", "rotate", "--secret-id", "ring", *arguments,
        env={**env, "AWS_ENDPOINT_URL_SECRETSMANAGER": secrets_endpoint}, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and words in last_line(result) and "Traceback" not in result.stderr


@pytest.mark.parametrize("text", ["not json", "[]", '{"keys": []}'])
def test_keyring_rotate_refuses_a_secret_that_is_not_a_keyring(
    env: dict[str, str], secrets_endpoint: str, text: str
) -> None:
    name = new_secret(secrets_endpoint, text)
    rotate_env = {**env, "AWS_ENDPOINT_URL_SECRETSMANAGER": secrets_endpoint}
    result = drmtoken("keyring", "rotate", "--secret-id", name, env=rotate_env, check=False)
    one_line_failure(result, 1, "not a keyring")
    client = boto3.client("secretsmanager", endpoint_url=secrets_endpoint)
    assert client.get_secret_value(SecretId=name)["SecretString"] == text  # nothing written


def test_keyring_rotate_keeps_the_active_key_of_a_sorted_secret(env: dict[str, str], secrets_endpoint: str) -> None:
    rings = {key_id: json.loads(Keyring.generate_json(key_id))["keys"][key_id] for key_id in ("k8", "k9", "k10")}
    # k10, k8, k9: as jq -S writes; k8 and k9 retired long ago, so one of them may go
    sorted_secret = json.dumps({"active": "k10", "keys": rings, "retired": {"k8": 1, "k9": 1}}, sort_keys=True)
    name = new_secret(secrets_endpoint, sorted_secret)
    live = seal_token(Keyring.from_json(sorted_secret), "wv", {"drm": "wv", "expiresAt": 2**40})
    rotate_env = {**env, "AWS_ENDPOINT_URL_SECRETSMANAGER": secrets_endpoint}
    drmtoken("keyring", "rotate", "--secret-id", name, env=rotate_env)
    client = boto3.client("secretsmanager", endpoint_url=secrets_endpoint)
    ring = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    assert ring["active"] == "k11" and sorted(ring["keys"]) == ["k10", "k11", "k9"]
    assert open_token(Keyring.from_json(json.dumps(ring)), live, "wv")["expiresAt"] == 2**40


def test_tokens_inspect_with_an_unusable_keyring(env: dict[str, str]) -> None:
    broken = json.dumps({"active": ["k1"], "keys": json.loads(Keyring.generate_json("k1"))["keys"]})
    result = drmtoken("tokens", "inspect", "AAAA", env={**env, "TOKEN_KEYRING": broken}, check=False)
    one_line_failure(result, 1, "keyring:")


def test_tokens_inspect_secret_id_wins_over_token_keyring(env: dict[str, str], secrets_endpoint: str) -> None:
    in_secret = Keyring.generate_json("s1")
    name = new_secret(secrets_endpoint, in_secret)
    token = seal_token(Keyring.from_json(in_secret), "fp", {"drm": "fp", "expiresAt": 2**40, "contentKey": "00" * 16})
    inspect_env = {
        **env,
        "TOKEN_KEYRING": Keyring.generate_json("other"),
        "AWS_ENDPOINT_URL_SECRETSMANAGER": secrets_endpoint,
    }
    shown = json.loads(drmtoken("tokens", "inspect", token, "--secret-id", name, env=inspect_env).stdout)
    assert shown["keyId"] == "s1" and shown["claims"]["contentKey"].startswith("(hidden")
