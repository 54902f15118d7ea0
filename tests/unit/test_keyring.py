"""The token keyring: a broken one is a clean 503 that repeats none of its content; rotation goes by age."""

from __future__ import annotations

import base64
import json
import os

import pytest

from drmtoken_cli.commands.keyring import KeyringUnavailable, rotated
from tests.support.apigw import rest_event
from tests.support.lambdas import WV_PATH, error_of, invoke
from tests.support.requests import widevine

MATERIAL = base64.b64encode(os.urandom(32)).decode()


@pytest.mark.parametrize(
    "document",
    [
        {"active": "k1", "keys": {MATERIAL: "k1"}},  # id and material swapped
        {"active": MATERIAL, "keys": {"k1": MATERIAL}},  # the material pasted as the active id
        {"active": ["k1"], "keys": {"k1": MATERIAL}},  # active not a string: was a 500 with a traceback
        {"active": {"k1": 1}, "keys": {"k1": MATERIAL}},
        {"active": "k1", "keys": {"k1": MATERIAL[:-4]}},
    ],
)
def test_an_unusable_keyring_is_503_and_never_quoted(
    document: dict[str, object],
    authenticator: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TOKEN_KEYRING", json.dumps(document))
    response = invoke(rest_event("GET", WV_PATH, widevine(authenticator, errorFormat="json")))
    assert error_of(response)[:2] == (503, -2030)
    seen = capsys.readouterr().out + caplog.text + response["body"]
    assert "dependency failed" in caplog.text  # the operator is told, without the content
    for fragment in (MATERIAL, MATERIAL[:-4], MATERIAL[:16]):
        assert fragment not in seen


def ring(*ids: str, active: str, created: dict[str, int] | None = None) -> dict[str, object]:
    document: dict[str, object] = {"active": active, "keys": {key_id: MATERIAL for key_id in ids}}
    if created is not None:
        document["created"] = created
    return document


def test_rotation_orders_undated_keys_by_id_not_by_json_order() -> None:
    """`jq -S` writes k10, k8, k9: the active k10 must survive, the oldest k8 go."""
    document, removed = rotated(ring("k10", "k8", "k9", active="k10"), None, 3, now=1000)
    assert document["active"] == "k11"
    assert list(document["keys"]) == ["k9", "k10", "k11"]
    assert removed == ["k8"]
    assert document["created"] == {"k11": 1000}


def test_rotation_orders_dated_keys_by_age_and_never_drops_the_active_key() -> None:
    # "b" is active but older than "c", which was added without being activated.
    created = {"a": 100, "b": 200, "c": 300}
    document, removed = rotated(ring("c", "a", "b", active="b", created=created), "d", 2, now=400)
    assert document["active"] == "d"
    assert list(document["keys"]) == ["b", "d"] and removed == ["a", "c"]
    document, removed = rotated(ring("c", "a", "b", active="b", created=created), "d", 3, now=400)
    assert list(document["keys"]) == ["b", "c", "d"] and removed == ["a"]


def test_a_dated_key_is_newer_than_every_undated_one() -> None:
    document, removed = rotated(ring("k1", "k2", "x", active="x", created={"k1": 50}), None, 3, now=60)
    assert list(document["keys"]) == ["x", "k1", "k3"] and removed == ["k2"]


@pytest.mark.parametrize("keep", [0, 1])
def test_keeping_fewer_than_two_keys_is_refused(keep: int) -> None:
    with pytest.raises(KeyringUnavailable, match="at least 2"):
        rotated(ring("k1", active="k1"), None, keep, now=1)


@pytest.mark.parametrize("document", [[], "ring", {"keys": []}, {"active": "k1", "keys": {"bad id": MATERIAL}}])
def test_rotating_something_that_is_not_a_keyring_is_refused(document: object) -> None:
    with pytest.raises(KeyringUnavailable):
        rotated(document, None, 3, now=1)
