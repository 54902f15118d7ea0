"""The keyrings: a broken one is a clean 503 that repeats none of its content; rotation never drops a needed key."""

from __future__ import annotations

import base64
import json
import os

import pytest

from drmtoken.core.params import MAX_TOKEN_LIFETIME
from drmtoken_cli.commands.keyring import RETENTION_MARGIN, KeyringUnavailable, rotated
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


def ring(
    *ids: str, active: str, created: dict[str, int] | None = None, retired: dict[str, int] | None = None
) -> dict[str, object]:
    document: dict[str, object] = {"active": active, "keys": {key_id: MATERIAL for key_id in ids}}
    if created is not None:
        document["created"] = created
    if retired is not None:
        document["retired"] = retired
    return document


LONG_AGO = 1_000
# Every key retired at LONG_AGO may go: no token it sealed can still be open, and it seals no held key.
LATER = LONG_AGO + MAX_TOKEN_LIFETIME + RETENTION_MARGIN


def test_rotation_orders_undated_keys_by_id_not_by_json_order() -> None:
    """`jq -S` writes k10, k8, k9: the active k10 must survive, the oldest k8 go."""
    document, removed, _ = rotated(
        ring("k10", "k8", "k9", active="k10", retired=dict.fromkeys(("k8", "k9"), 1)), None, 3, now=LATER
    )
    assert document["active"] == "k11"
    assert list(document["keys"]) == ["k9", "k10", "k11"]
    assert removed == ["k8"]
    assert document["created"] == {"k11": LATER} and document["retired"] == {"k9": 1, "k10": LATER}


def test_rotation_orders_dated_keys_by_age_and_never_drops_the_active_key() -> None:
    # "b" is active but older than "c", which was added without being activated.
    created, retired = {"a": 100, "b": 200, "c": 300}, {"a": 200, "c": 300}
    document, removed, _ = rotated(ring("c", "a", "b", active="b", created=created, retired=retired), "d", 2, now=LATER)
    assert document["active"] == "d"
    assert list(document["keys"]) == ["b", "d"] and removed == ["a", "c"]
    document, removed, _ = rotated(ring("c", "a", "b", active="b", created=created, retired=retired), "d", 3, now=LATER)
    assert list(document["keys"]) == ["b", "c", "d"] and removed == ["a"]


def test_a_dated_key_is_newer_than_every_undated_one() -> None:
    retired = {"k1": 50, "k2": 40}
    document, removed, _ = rotated(
        ring("k1", "k2", "x", active="x", created={"k1": 50}, retired=retired), None, 3, now=LATER
    )
    assert list(document["keys"]) == ["x", "k1", "k3"] and removed == ["k2"]


def test_a_key_that_may_have_sealed_a_live_token_is_kept_past_keep_until_every_such_token_expired() -> None:
    """Weekly rotations with --keep 2: the third one no longer drops the first key while its tokens live."""
    document: object = ring("k1", active="k1", created={"k1": 0})
    week = 7 * 24 * 3600
    for rotation in range(1, 8):
        now = rotation * week
        document, removed, held_back = rotated(document, None, 2, now=now)
        for key_id in removed:  # gone only when its last possible token expired, with the margin
            retired_at = (int(key_id[1:])) * week  # k<n> was replaced by the rotation n weeks in
            assert now >= retired_at + MAX_TOKEN_LIFETIME + RETENTION_MARGIN, (key_id, now)
        for why in held_back.values():
            assert "tokens it sealed may be open until" in why, why
        assert isinstance(document, dict)
        live = {f"k{n}" for n in range(1, rotation + 1) if now < n * week + MAX_TOKEN_LIFETIME + RETENTION_MARGIN}
        assert live <= set(document["keys"]), (rotation, sorted(document["keys"]))
    assert isinstance(document, dict) and "k1" not in document["keys"]  # keys do leave, in the end


def test_an_old_key_that_still_seals_held_keys_is_kept() -> None:
    asked: list[int] = []

    def sealing() -> dict[str, int]:
        asked.append(1)
        return {"s1": 42}

    document, removed, held_back = rotated(
        ring("s1", "s2", "s3", active="s3", retired={"s1": 1, "s2": 1}), None, 2, now=LATER, sealing=sealing
    )
    assert removed == ["s2"] and "s1" in document["keys"]
    assert held_back == {"s1": "it seals 42 held keys: run `drmtoken keys reseal` first"}
    assert asked == [1]  # the table is read once, and only because a key was old enough
    rotated(ring("s1", "s2", active="s2", retired={"s1": LATER}), None, 2, now=LATER, sealing=sealing)
    assert asked == [1]


@pytest.mark.parametrize("keep", [0, 1])
def test_keeping_fewer_than_two_keys_is_refused(keep: int) -> None:
    with pytest.raises(KeyringUnavailable, match="at least 2"):
        rotated(ring("k1", active="k1"), None, keep, now=1)


@pytest.mark.parametrize("document", [[], "ring", {"keys": []}, {"active": "k1", "keys": {"bad id": MATERIAL}}])
def test_rotating_something_that_is_not_a_keyring_is_refused(document: object) -> None:
    with pytest.raises(KeyringUnavailable):
        rotated(document, None, 3, now=1)
