"""Where the content key comes from: given in clear, or unwrapped (RFC 3394) with ``kek``.

The decision is made once per request from the parsed parameters, before any
database call; the key-store form is the only one that needs a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from .drm import DrmProfile
from .errors import ApiError

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
    """Either a content key ready to use, or a kek to unwrap the stored key for ``kid``."""

    content_key: bytes | None = None
    stored_kek: bytes | None = None

    def __repr__(self) -> str:  # never print key material
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
    if content_key is not None:
        return KeySource(content_key=content_key)
    if kek is None:
        raise ApiError(-2005)
    if ek is not None:
        if drm.kid_with_ek_is_ambiguous and kid is not None:
            raise ApiError(-4024)  # kek + kid + ek: which key is meant is ambiguous
        return KeySource(content_key=unwrap_content_key(kek, ek, -4024))
    if kid is None:
        raise ApiError(-2005)
    return KeySource(stored_kek=kek)
