"""Sealing and opening tokens: AES-256-GCM under a keyring key, header as AAD.

Layout before base64url (no padding):

    version (1) | key id length (1) | key id | DRM ("wv"/"fp") | nonce (12) | ciphertext + tag

The header (everything before the nonce) is authenticated, so changing the
version, key id or DRM makes the token fail to open like any other change.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .drm import Drm
from .errors import TokenOpenError

FORMAT_VERSION = 1
NONCE_BYTES = 12
TOKEN_KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_DRMS = frozenset(drm.value for drm in Drm)


@dataclass(frozen=True)
class Keyring:
    active: str
    keys: dict[str, AESGCM]

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse ``{"active": id, "keys": {id: base64 of 32 bytes}}``; ValueError says what is wrong.

        No message repeats anything from the keyring: with id and material swapped (an easy
        slip) the rejected "id" would be the key that opens every token.
        """
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError("keyring is not JSON") from error
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise ValueError('keyring must be a JSON object with "active" and "keys"')
        keys: dict[str, AESGCM] = {}
        for position, (key_id, material) in enumerate(document["keys"].items(), start=1):
            if not KEY_ID.fullmatch(key_id):
                raise ValueError(f"keyring key number {position}: its key id is not 1-16 of [A-Za-z0-9_-]")
            try:
                raw = base64.b64decode(material, validate=True)
            except (binascii.Error, TypeError, ValueError) as error:
                raise ValueError(f"keyring key number {position} is not base64") from error
            if len(raw) != TOKEN_KEY_BYTES:
                raise ValueError(f"keyring key number {position} is not 32 bytes")
            keys[key_id] = AESGCM(raw)
        active = document.get("active")
        if not isinstance(active, str):
            raise ValueError('keyring\'s "active" must be a key id (a string)')
        if active not in keys:
            raise ValueError("keyring's active key id is not among its keys")
        return cls(active=active, keys=keys)

    @staticmethod
    def new_key_material() -> str:
        """A fresh random token key, as the keyring JSON holds it (base64 of 32 bytes)."""
        return base64.b64encode(os.urandom(TOKEN_KEY_BYTES)).decode("ascii")

    @staticmethod
    def generate_json(key_id: str = "k1") -> str:
        """A fresh one-key keyring, for local use and first deployment; ``created`` dates it for rotation."""
        if not KEY_ID.fullmatch(key_id):
            raise ValueError("a key id is 1-16 of [A-Za-z0-9_-]")
        created = {key_id: int(time.time())}
        return json.dumps({"active": key_id, "keys": {key_id: Keyring.new_key_material()}, "created": created})

    def __repr__(self) -> str:
        return f"Keyring(active={self.active!r}, key_ids={sorted(self.keys)!r})"


def _header(key_id: str, drm: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes((FORMAT_VERSION, len(encoded))) + encoded + drm.encode("ascii")


def seal_token(keyring: Keyring, drm: str, claims: dict[str, Any]) -> str:
    header = _header(keyring.active, drm)
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    sealed = keyring.keys[keyring.active].encrypt(nonce, plaintext, header)
    return base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenHeader:
    """The clear part of a token: what it claims to be, before anything is verified."""

    key_id: str
    drm: str
    length: int  # bytes of header, the AAD
    raw: bytes = field(repr=False)  # the whole decoded token


def read_header(token: str) -> TokenHeader:
    """Decode a token and parse its header; raises TokenOpenError(MALFORMED) when it has none."""
    # Strict: only the URL-safe alphabet, no padding, no whitespace, and the one canonical
    # spelling of the bytes (the unused low bits of the last character are zero).
    if not token or not _BASE64URL.fullmatch(token) or len(token) % 4 == 1:
        raise TokenOpenError(TokenOpenError.MALFORMED, "not base64url")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise TokenOpenError(TokenOpenError.MALFORMED, "not base64url")
    if len(raw) < 2 or raw[0] != FORMAT_VERSION:
        raise TokenOpenError(TokenOpenError.MALFORMED, "unknown format version")
    end_of_id = 2 + raw[1]
    if len(raw) < end_of_id + 2 + NONCE_BYTES + 16:
        raise TokenOpenError(TokenOpenError.MALFORMED, "too short")
    token_drm = raw[end_of_id : end_of_id + 2].decode("ascii", errors="replace")
    if token_drm not in _DRMS:
        raise TokenOpenError(TokenOpenError.MALFORMED, "unknown DRM")
    key_id = raw[2:end_of_id].decode("ascii", errors="replace")
    return TokenHeader(key_id=key_id, drm=token_drm, length=end_of_id + 2, raw=raw)


def open_token(keyring: Keyring, token: str, drm: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Claims of a token; raises TokenOpenError with a distinct reason for each failure.

    ``drm`` set: the token must have been sealed for that route. ``now`` set (or
    defaulted): an expired token fails; pass ``now=float('-inf')`` to skip expiry.
    """
    header = read_header(token)
    key_id, token_drm, raw = header.key_id, header.drm, header.raw
    cipher = keyring.keys.get(key_id)
    if cipher is None:
        raise TokenOpenError(TokenOpenError.UNKNOWN_KEY, "sealed with a key that is not in the keyring")
    aad = raw[: header.length]
    nonce = raw[header.length : header.length + NONCE_BYTES]
    try:
        plaintext = cipher.decrypt(nonce, raw[header.length + NONCE_BYTES :], aad)
    except InvalidTag as error:
        raise TokenOpenError(TokenOpenError.TAMPERED, "authentication tag does not match") from error
    claims: dict[str, Any] = json.loads(plaintext)
    if claims.get("drm") != token_drm:
        raise TokenOpenError(TokenOpenError.TAMPERED, "claims and header disagree")
    if drm is not None and token_drm != drm:
        raise TokenOpenError(TokenOpenError.WRONG_DRM, f"token is for {token_drm}, not {drm}")
    current = time.time() if now is None else now
    if claims["expiresAt"] <= current:
        raise TokenOpenError(TokenOpenError.EXPIRED, "token has expired")
    return claims
