"""Token sealing: round trip, tamper resistance, key rotation, expiry, route binding."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from drmtoken.core.errors import TokenOpenError
from drmtoken.core.token import Keyring, open_token, seal_token

NOW = 1_780_000_000  # the clock of every test here (time-machine): no claim depends on when the suite runs
CLAIMS: dict[str, Any] = {
    "tokenId": "t",
    "drm": "wv",
    "expiresAt": NOW + 600,
    "contentKey": "00" * 16,
    "kid": "ab" * 16,
}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def reason(keyring: Keyring, token: str, drm: str | None = "wv", now: float | None = None) -> str:
    with pytest.raises(TokenOpenError) as failure:
        open_token(keyring, token, drm, now)
    assert failure.value.code == -4010
    return failure.value.reason


def test_round_trip(keyring: Keyring) -> None:
    assert open_token(keyring, seal_token(keyring, "wv", CLAIMS), "wv") == CLAIMS


def test_token_is_unpadded_base64url_and_hides_the_claims(keyring: Keyring) -> None:
    token = seal_token(keyring, "wv", CLAIMS)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"contentKey" not in raw and bytes.fromhex(CLAIMS["contentKey"] + "ab") not in raw


def test_two_seals_of_the_same_claims_differ(keyring: Keyring) -> None:
    assert seal_token(keyring, "wv", CLAIMS) != seal_token(keyring, "wv", CLAIMS)


def test_flipping_any_bit_of_any_byte_fails(keyring: Keyring) -> None:
    raw = bytearray(base64.urlsafe_b64decode(seal_token(keyring, "wv", CLAIMS) + "=="))
    for index in range(len(raw)):
        for bit in (0x01, 0x80):
            changed = bytearray(raw)
            changed[index] ^= bit
            token = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
            assert reason(keyring, token) in {"malformed", "tampered", "unknown-key"}, (index, bit)


@pytest.mark.parametrize("keep", [0, 1, 10, 30])
def test_truncated_token_fails(keyring: Keyring, keep: int) -> None:
    token = seal_token(keyring, "wv", CLAIMS)
    assert reason(keyring, token[: len(token) - 1 - keep if keep else 5]) in {"malformed", "tampered"}


def test_swapped_key_id_fails_as_tampered(keyring_json: str) -> None:
    document = json.loads(keyring_json)
    document["keys"]["t2"] = document["keys"]["t1"]  # same key, other id: only the AAD differs
    keyring = Keyring.from_json(json.dumps(document))
    raw = bytearray(base64.urlsafe_b64decode(seal_token(keyring, "wv", CLAIMS) + "=="))
    assert raw[2:4] == b"t1"
    raw[3] = ord("2")
    token = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert reason(keyring, token) == "tampered"


def test_widevine_token_does_not_open_as_fairplay(keyring: Keyring) -> None:
    assert reason(keyring, seal_token(keyring, "wv", CLAIMS), drm="fp") == "wrong-drm"


def test_expired_token_fails_as_expired(keyring: Keyring) -> None:
    token = seal_token(keyring, "wv", CLAIMS)
    assert reason(keyring, token, now=CLAIMS["expiresAt"]) == "expired"
    assert open_token(keyring, token, "wv", now=CLAIMS["expiresAt"] - 1) == CLAIMS


def test_key_removed_from_ring_fails_as_unknown_key(keyring: Keyring) -> None:
    token = seal_token(keyring, "wv", CLAIMS)
    other = Keyring.from_json(Keyring.generate_json("t9"))
    assert reason(other, token) == "unknown-key"


def test_rotation_keeps_live_tokens_openable(keyring_json: str) -> None:
    old = Keyring.from_json(keyring_json)
    old_token = seal_token(old, "wv", CLAIMS)
    document = json.loads(keyring_json)
    document["keys"]["t2"] = json.loads(Keyring.generate_json("t2"))["keys"]["t2"]
    document["active"] = "t2"
    rotated = Keyring.from_json(json.dumps(document))
    new_token = seal_token(rotated, "wv", CLAIMS)
    assert base64.urlsafe_b64decode(new_token[:8])[2:4] == b"t2"
    assert open_token(rotated, old_token, "wv") == CLAIMS
    assert open_token(rotated, new_token, "wv") == CLAIMS
    assert reason(old, new_token) == "unknown-key"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ('{"active": "a"}', '"keys"'),
        ('{"active": "a", "keys": {"a": "c2hvcnQ="}}', "32 bytes"),
        ('{"active": "a", "keys": {"a": "!!"}}', "base64"),
        ('{"active": "b", "keys": {"a": "' + base64.b64encode(bytes(32)).decode() + '"}}', "active"),
        ('{"active": "a b", "keys": {"a b": "' + base64.b64encode(bytes(32)).decode() + '"}}', "key id"),
    ],
)
def test_bad_keyrings_are_refused_with_a_reason(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Keyring.from_json(text)


def test_keyring_repr_shows_no_key_material(keyring_json: str, keyring: Keyring) -> None:
    material = json.loads(keyring_json)["keys"]["t1"]
    assert material not in repr(keyring) and "t1" in repr(keyring)


def _respelled(token: str) -> list[str]:
    """Spellings of the same bytes, or of almost the same, that a strict reader must refuse."""
    middle = len(token) // 2
    spellings = [
        token[:middle] + "!@#$%" + token[middle:],
        token[:middle] + " " + token[middle:],
        token[:middle] + "\n" + token[middle:],
        token + "=" * (-len(token) % 4 or 4),
        token + "==",
        token.replace("-", "+").replace("_", "/") if ("-" in token or "_" in token) else token + "+",
        token[:-1] + chr(ord(token[-1]) + 1) if len(token) % 4 != 0 else token + "A",
    ]
    return [s for s in spellings if s != token]


def test_only_strict_base64url_opens(keyring: Keyring) -> None:
    for _ in range(20):  # several tokens, so '-', '_' and a last character with spare bits all occur
        token = seal_token(keyring, "wv", CLAIMS)
        assert open_token(keyring, token, "wv") == CLAIMS
        for spelling in _respelled(token):
            with pytest.raises(TokenOpenError) as failure:
                open_token(keyring, spelling, "wv")
            assert failure.value.reason in {"malformed", "tampered"}, spelling


def test_an_empty_token_is_not_base64url(keyring: Keyring) -> None:
    with pytest.raises(TokenOpenError, match="not base64url"):
        open_token(keyring, "", "wv")


def test_non_canonical_last_character_is_refused(keyring: Keyring) -> None:
    """Two spellings of one token must not both open: the spare low bits of the last character are zero."""
    token = next(t for t in (seal_token(keyring, "wv", CLAIMS) for _ in range(50)) if len(t) % 4 in (2, 3))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    with pytest.raises(TokenOpenError, match="not base64url"):
        open_token(keyring, twin, "wv")
