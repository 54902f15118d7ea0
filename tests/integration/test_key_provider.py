"""The key provider and held-key tokens on the real DynamoDB engine (DynamoDB Local), and the operator's commands."""

from __future__ import annotations

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from drmtoken.adapters import aws
from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event, speke_event
from tests.support.cli import drmtoken
from tests.support.cpix import ALL_SYSTEMS, new_kids, speke_v2
from tests.support.lambdas import WV_PATH, invoke
from tests.support.requests import REMOVE, widevine

pytestmark = pytest.mark.integration


def plain_values(body: str) -> list[str]:
    return [part.split("<", 1)[0] for part in body.split("<pskc:PlainValue>")[1:]]


def test_parallel_requests_for_new_kids_all_answer_the_one_key_held(
    local_store: AdminStore, local_env: dict[str, str]
) -> None:
    """20 packagers' requests race for the same 3 new KIDs: one conditional put wins per KID, all answer it."""
    local_store.create_customer("acme", widevine=True)
    body = speke_v2("live-1", dict(zip(new_kids(3), ("SD", "HD", "AUDIO"), strict=True)), ALL_SYSTEMS)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: invoke(speke_event("acme", body)), range(20)))
    assert {a["statusCode"] for a in answers} == {200}
    assert len({tuple(plain_values(a["body"])) for a in answers}) == 1
    items = aws.client("dynamodb").scan(TableName=local_env["HELD_KEYS_TABLE"])["Items"]
    assert len(items) == 3


def test_a_token_by_content_on_the_real_engine(
    local_store: AdminStore, local_env: dict[str, str], keyring: Keyring
) -> None:
    local_store.create_customer("acme", widevine=True, limits={"test": 1})
    authenticator = "acme," + local_store.add_authenticator("acme", "test")
    kids = new_kids(2)
    assert (
        invoke(speke_event("acme", speke_v2("movie-9", dict(zip(kids, ("VIDEO", "AUDIO"), strict=True)))))["statusCode"]
        == 200
    )
    unknown = invoke(rest_event("GET", WV_PATH, widevine(authenticator, kid=REMOVE, contentKey=REMOVE, contentId="x")))
    assert unknown["statusCode"] == 400 and local_store.get_customer("acme").issued["test"] == 0
    answer = invoke(
        rest_event("GET", WV_PATH, widevine(authenticator, kid=REMOVE, contentKey=REMOVE, contentId="movie-9"))
    )
    claims = open_token(keyring, answer["body"].split("ExpressPlayToken=", 1)[1])
    assert sorted(k["kid"] for k in claims["keys"]) == sorted(uuid.UUID(k).hex for k in kids)
    assert local_store.get_customer("acme").issued["test"] == 1


def test_keys_held_lists_kids_never_keys_and_iam_policy_names_one_path(
    local_store: AdminStore, env: dict[str, str], local_env: dict[str, str]
) -> None:
    local_store.create_customer("acme", widevine=True)
    kids = new_kids(2)
    answer = invoke(speke_event("acme", speke_v2("movie-9", dict(zip(kids, ("HD", "AUDIO"), strict=True)))))
    invoke(speke_event("acme", speke_v2("other", {new_kids(1)[0]: "VIDEO"})))
    env = {**env, "HELD_KEYS_TABLE": local_env["HELD_KEYS_TABLE"]}
    listed: list[dict[str, Any]] = json.loads(
        drmtoken("keys", "held", "acme", "--content", "movie-9", "--json", env=env).stdout
    )
    assert sorted(k["kid"] for k in listed) == sorted(uuid.UUID(k).hex for k in kids)
    assert {k["trackType"] for k in listed} == {"HD", "AUDIO"} and all(k["created"].startswith("20") for k in listed)
    lines = drmtoken("keys", "held", "acme", env=env).stdout
    assert len(lines.splitlines()) == 3
    for value in plain_values(answer["body"]):  # neither the key nor any spelling of it
        key = base64.b64decode(value)
        assert value not in lines and key.hex() not in lines and key.hex() not in json.dumps(listed)
    policy = drmtoken(
        "keys",
        "iam-policy",
        "acme",
        "--role-arn",
        "arn:aws:iam::111122223333:role/MediaPackageSpeke",
        "--api-arn",
        "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5",
        env=env,
    )
    (statement,) = json.loads(policy.stdout)["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5/v1/POST/speke/acme"
    assert "put-role-policy --role-name MediaPackageSpeke" in policy.stderr
    bad = drmtoken("keys", "iam-policy", "acme", "--role-arn", "nope", "--api-arn", "x", env=env, check=False)
    assert bad.returncode == 2 and "--role-arn" in bad.stderr
