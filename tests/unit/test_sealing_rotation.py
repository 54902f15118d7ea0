"""Rotating the key-sealing keyring as documented never makes a held key unopenable (docs/key-provider.md §4).

Held keys live for ever, so their sealing key must too until they are resealed: rotation
keeps it while any held key is sealed under it, and `drmtoken keys reseal` moves them all
to the active key (idempotent, safe to stop and run again) so the old key may then go.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import time_machine

from drmtoken.adapters.heldkeys import DynamoHeldKeys
from drmtoken.core.heldkeys import HeldKey
from drmtoken.core.token import Keyring
from drmtoken_cli.commands.keyring import rotate_secret
from drmtoken_cli.sealing import Resealed, reseal_all, sealing_key_counts

WEEK = 7 * 24 * 3600
START = 1_780_000_000  # a fixed instant: the test moves the clock, never reads it


class SecretRing:
    """The functions' view of the sealing secret: read anew on every get (no cache)."""

    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id

    def get(self) -> Keyring:
        text = boto3.client("secretsmanager").get_secret_value(SecretId=self.secret_id)["SecretString"]
        return Keyring.from_json(text)


@pytest.fixture
def sealing(dynamodb: Any, service_env: dict[str, str]) -> tuple[DynamoHeldKeys, str]:
    with time_machine.travel(START, tick=False):
        ring = Keyring.generate_json("s1")
    boto3.client("secretsmanager").create_secret(Name="sealing", SecretString=ring)
    return DynamoHeldKeys(dynamodb, service_env["HELD_KEYS_TABLE"], SecretRing("sealing")), "sealing"


def held(store: DynamoHeldKeys, count: int, prefix: str) -> list[HeldKey]:
    keys = [HeldKey.new(f"{prefix}{index:030x}", "movie-1", "HD", None, 0) for index in range(count)]
    for key in keys:
        store.put_new("acme", key)
    return keys


def assert_every_key_opens(store: DynamoHeldKeys, keys: list[HeldKey]) -> None:
    """Each held key opens with the ring as it is now, to the same key and IV it was made with."""
    opened = store.get_many("acme", [key.kid for key in keys])
    assert {kid: (k.key, k.iv) for kid, k in opened.items()} == {k.kid: (k.key, k.iv) for k in keys}


def test_three_routine_rotations_leave_every_held_key_openable(
    sealing: tuple[DynamoHeldKeys, str], dynamodb: Any, service_env: dict[str, str]
) -> None:
    store, secret = sealing
    table = service_env["HELD_KEYS_TABLE"]
    before = held(store, 5, "aa")
    for week in range(1, 4):  # the third rotation with --keep 2 used to drop s1, and every key above with it
        with time_machine.travel(START + week * WEEK, tick=False):
            rotate_secret(secret, None, 2, table)
        held(store, 2, f"b{week}")
    with time_machine.travel(START + 60 * WEEK, tick=False):  # long past every token's life
        _, removed, held_back = rotate_secret(secret, None, 2, table)
    assert "s1" not in removed and "seals 5 held keys" in held_back["s1"]
    assert_every_key_opens(store, before)


def test_reseal_moves_every_held_key_to_the_active_key_then_old_keys_may_go(
    sealing: tuple[DynamoHeldKeys, str], dynamodb: Any, service_env: dict[str, str]
) -> None:
    store, secret = sealing
    table = service_env["HELD_KEYS_TABLE"]
    keys = held(store, 7, "cc")
    with time_machine.travel(START + WEEK, tick=False):
        rotate_secret(secret, None, 2, table)
    keys += held(store, 3, "dd")  # sealed under s2 already
    ring = store.sealing.get()
    pages: list[Resealed] = []
    done = reseal_all(dynamodb, table, ring, lambda so_far: pages.append(Resealed(**vars(so_far))))
    assert (done.scanned, done.resealed, done.current, done.changed, done.unopenable) == (10, 7, 3, 0, 0)
    assert pages and pages[-1].scanned == 10  # progress after each page
    again = reseal_all(dynamodb, table, ring, lambda _: None)  # run again: nothing left to do
    assert (again.resealed, again.current) == (0, 10)
    assert sealing_key_counts(dynamodb, table) == {ring.active: 10}
    with time_machine.travel(START + 60 * WEEK, tick=False):
        _, removed, held_back = rotate_secret(secret, None, 2, table)
    assert removed == ["s1"] and held_back == {}
    assert_every_key_opens(store, keys)


def test_a_reseal_racing_another_one_leaves_each_key_sealed_once_and_openable(
    sealing: tuple[DynamoHeldKeys, str], dynamodb: Any, service_env: dict[str, str]
) -> None:
    """Two operators reseal at once: each item is rewritten by one of them, the other sees it changed."""
    store, secret = sealing
    table = service_env["HELD_KEYS_TABLE"]
    keys = held(store, 4, "ee")
    with time_machine.travel(START + WEEK, tick=False):
        rotate_secret(secret, None, 2, table)
    ring = store.sealing.get()
    second: list[Resealed] = []

    class Racing:
        """A client on which the other operator's whole run happens before this one's first write."""

        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> Any:
            if name == "update_item" and not self.raced:
                self.raced = True
                second.append(reseal_all(dynamodb, table, ring, lambda _: None))
            return getattr(dynamodb, name)

    first = reseal_all(Racing(), table, ring, lambda _: None)
    assert second[0].resealed == 4 and first.changed == 4 and first.resealed == 0
    assert_every_key_opens(store, keys)
    assert json.dumps(sealing_key_counts(dynamodb, table)) == json.dumps({ring.active: 4})
