"""Where a token's keys come from: given in clear, unwrapped (RFC 3394) with ``kek``, or held by the service.

The decision is made once per request from the parsed parameters, before any
database call; the key-store and held-key forms are the ones that need a lookup.
A token carries one key (``kid``, ``contentKey``) or, from held keys, a list of
keys (``keys``); ``token_keys`` reads either, so nothing else needs to know which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from .drm import DrmProfile
from .errors import ApiError
from .heldkeys import HeldKey, widevine_track

CONTENT_KEY_BYTES = 16


def wrap_content_key(kek: bytes, content_key: bytes) -> bytes:
    return aes_key_wrap(kek, content_key)


def unwrap_content_key(kek: bytes, wrapped: bytes, error_code: int) -> bytes:
    """RFC 3394 unwrap; a failed integrity check or a key of the wrong size is ``error_code``."""
    try:
        key = aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError) as error:
        raise ApiError(error_code) from error
    if len(key) != CONTENT_KEY_BYTES:
        raise ApiError(error_code)
    return key


@dataclass(frozen=True)
class KeySource:
    """A content key ready to use, a kek to unwrap the stored key for ``kid``, or held keys (by KID or content)."""

    content_key: bytes | None = None
    stored_kek: bytes | None = None
    held_kid: str | None = None
    held_content: str | None = None

    @property
    def held(self) -> bool:
        return self.held_kid is not None or self.held_content is not None

    def __repr__(self) -> str:  # never print key material
        if self.held:
            return "KeySource(held)"
        return "KeySource(given)" if self.content_key is not None else "KeySource(stored)"


def decide_key_source(values: dict[str, Any], drm: DrmProfile) -> KeySource:
    content_key = values.get("contentKey")
    kek = values.get("kek")
    ek = values.get("ek")
    kid = values.get("kid")

    if ek is not None and kek is None:
        raise ApiError(-4024)
    if kek is not None and content_key is not None:
        raise ApiError(-2005)
    if content_key is None and kek is None:
        # Neither given nor wrapped: the service's own held keys, of one KID or of a whole content.
        if kid is not None:
            return KeySource(held_kid=kid)
        if values.get("contentId") is not None:
            return KeySource(held_content=values["contentId"])
        raise ApiError(drm.no_key_named)
    for name, code in drm.given_key_needs:  # a key given by the caller comes with what the DRM needs beside it
        if values.get(name) is None:
            raise ApiError(code)
    if content_key is not None:
        return KeySource(content_key=content_key)
    assert kek is not None
    if ek is not None:
        if drm.kid_with_ek_is_ambiguous and kid is not None:
            raise ApiError(-4024)  # kek + kid + ek: which key is meant is ambiguous
        return KeySource(content_key=unwrap_content_key(kek, ek, -4024))
    if kid is None:
        raise ApiError(-2005)
    return KeySource(stored_kek=kek)


@dataclass(frozen=True)
class TokenKey:
    """One key a token carries, as the rights side uses it."""

    kid: str | None  # 32 hex digits; None for a FairPlay key given without one
    key: bytes = field(repr=False)
    iv: bytes | None = field(default=None, repr=False)
    track: str | None = None  # Widevine's track type (AUDIO, SD, HD, UHD1, UHD2), for held keys that have one


def held_key_claims(keys: list[HeldKey]) -> list[dict[str, str]]:
    """The ``keys`` claim of a token made from held keys: KID, key and IV in hex, and the track type."""
    claims = []
    for key in keys:
        claim = {"kid": key.kid, "key": key.key.hex(), "iv": key.iv.hex()}
        track = widevine_track(key.track_type)
        if track is not None:
            claim["track"] = track
        claims.append(claim)
    return claims


def token_keys(claims: Mapping[str, Any]) -> list[TokenKey]:
    """Every key of a token: the ``keys`` list of a held-key token, else its one ``kid`` + ``contentKey``."""
    if "keys" in claims:
        return [
            TokenKey(k["kid"], bytes.fromhex(k["key"]), bytes.fromhex(k["iv"]) if k.get("iv") else None, k.get("track"))
            for k in claims["keys"]
        ]
    iv = claims.get("iv")
    return [TokenKey(claims.get("kid"), bytes.fromhex(claims["contentKey"]), bytes.fromhex(iv) if iv else None)]
