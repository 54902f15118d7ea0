"""Keys the service holds for a customer: made for a packager (SPEKE), sealed at rest, put in tokens.

A held key is sealed with AES-256-GCM under the key-sealing keyring (the same
``{"active", "keys"}`` form as the token keyring, in its own secret). The customer id
and the KID are the associated data, so a sealed key copied to another customer's or
another KID's item does not open. The sealing key's id travels in the sealed bytes:
after a rotation, keys sealed under an older key still open while it stays in the ring.

    version (1) | key id length (1) | key id | nonce (12) | AES-GCM(content key (16) | IV (16)) + tag
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from .token import FORMAT_VERSION, NONCE_BYTES, Keyring

KEY_BYTES = 16
IV_BYTES = 16
MAX_KEYS_PER_TOKEN = 32  # a title's keys (audio, SD, HD, UHD..., key periods) in one token

# SPEKE's intendedTrackType names (MediaPackage and MediaConvert presets) -> Widevine's track types.
TRACKS = ("AUDIO", "SD", "HD", "UHD1", "UHD2")
_WIDEVINE_TRACK = {"SD": "SD", "HD": "HD", "UHD": "UHD1", "UHD1": "UHD1", "UHD2": "UHD2"}


def widevine_track(intended_track_type: str) -> str | None:
    """The Widevine track type of a SPEKE usage rule; None for ALL, VIDEO or anything unnamed."""
    kind = intended_track_type.upper()
    if "AUDIO" in kind:  # AUDIO, STEREO_AUDIO, MULTICHANNEL_AUDIO, MULTICHANNEL_AUDIO_3_6, ...
        return "AUDIO"
    return _WIDEVINE_TRACK.get(kind)


class SealedKeyError(ValueError):
    """A held key that does not open: wrong customer or KID, unknown sealing key, or tampered."""


@dataclass(frozen=True)
class HeldKey:
    kid: str  # 32 lower-case hex digits
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)  # FairPlay's IV, made with the key; public in playlists, kept sealed anyway
    content_id: str = ""
    track_type: str = ""  # the packager's intendedTrackType, as given
    created_at: int = 0

    @classmethod
    def new(cls, kid: str, content_id: str, track_type: str, iv: bytes | None, now: int) -> HeldKey:
        return cls(kid, os.urandom(KEY_BYTES), iv or os.urandom(IV_BYTES), content_id, track_type, now)


def _associated_data(header: bytes, customer_id: str, kid: str) -> bytes:
    return header + f"|{customer_id}|{kid}".encode()


def seal_held_key(keyring: Keyring, customer_id: str, key: HeldKey) -> bytes:
    key_id = keyring.active.encode("ascii")
    header = bytes((FORMAT_VERSION, len(key_id))) + key_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = keyring.keys[keyring.active].encrypt(
        nonce, key.key + key.iv, _associated_data(header, customer_id, key.kid)
    )
    return header + nonce + sealed


def open_held_key(keyring: Keyring, customer_id: str, kid: str, sealed: bytes) -> tuple[bytes, bytes]:
    """The (content key, IV) sealed for this customer and KID; SealedKeyError otherwise (quoting nothing)."""
    if len(sealed) < 2 or sealed[0] != FORMAT_VERSION:
        raise SealedKeyError("unknown sealed-key format")
    end = 2 + sealed[1]
    key_id = sealed[2:end].decode("ascii", errors="replace")
    cipher = keyring.keys.get(key_id)
    if cipher is None:
        raise SealedKeyError("sealed under a key that is not in the key-sealing keyring")
    nonce = sealed[end : end + NONCE_BYTES]
    try:
        clear = cipher.decrypt(nonce, sealed[end + NONCE_BYTES :], _associated_data(sealed[:end], customer_id, kid))
    except InvalidTag:
        raise SealedKeyError("does not open for this customer and KID") from None
    if len(clear) != KEY_BYTES + IV_BYTES:
        raise SealedKeyError("unexpected length")
    return clear[:KEY_BYTES], clear[KEY_BYTES:]


def sealing_key_id(sealed: bytes) -> str:
    """The id of the sealing key that sealed these bytes ("" when they are not sealed bytes)."""
    if len(sealed) < 2 or sealed[0] != FORMAT_VERSION:
        return ""
    return sealed[2 : 2 + sealed[1]].decode("ascii", errors="replace")


def reseal_held_key(keyring: Keyring, customer_id: str, kid: str, sealed: bytes) -> bytes:
    """The same held key sealed anew under the ring's active key; SealedKeyError when it does not open."""
    key, iv = open_held_key(keyring, customer_id, kid, sealed)
    return seal_held_key(keyring, customer_id, HeldKey(kid, key, iv))
