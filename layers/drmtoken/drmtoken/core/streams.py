"""A stream's ticket: what a first license gives the device and a renewal must bring back.

The ticket names the token, when its first license was given and the stream id, and is
authenticated under the token keyring's active key (AES-GCM over no plaintext, a fresh
nonce each time), so no one can make one for another token, or move its start or rename
its stream, without that key. It costs no database call to check: a renewal is known to
renew a license this token gave by the ticket alone. Text, for a header or Widevine's
provider session token:

    <started, epoch seconds>.<stream id>.<keyring key id>.<base64url of nonce (12) and tag (16)>

The stream id is a digest of the token id and the player (its address and user agent), so
a player's retries and its parallel requests for the keys of one title are one stream,
whichever arrives first (docs/rights-api.md, "Streams").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from .errors import ApiError
from .token import NONCE_BYTES, Keyring

MAX_TICKET_CHARACTERS = 96  # anything longer is not one: refused before it is read
_TICKET = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]{38})")
_PURPOSE = b"drmtoken stream ticket 1\x00"  # keeps a ticket's tag apart from a token's (whose AAD starts 0x01)


@dataclass(frozen=True)
class Stream:
    ticket: str
    started_at: int  # epoch seconds of its first license
    stream_id: str  # 16 characters: the stream's name in records and stream slots


def stream_id_of(token_id: str, source_ip: str, user_agent: str) -> str:
    """One name for every first-license request of one player with one token."""
    digest = hashlib.sha256(f"{token_id}\x00{source_ip}\x00{user_agent}".encode("utf-8", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:16]


def _aad(token_id: str, started_at: int, stream_id: str) -> bytes:
    return _PURPOSE + f"{token_id}\x00{started_at}\x00{stream_id}".encode("ascii")


def new_stream(keyring: Keyring, token_id: str, started_at: int, stream_id: str) -> Stream:
    nonce = os.urandom(NONCE_BYTES)
    tag = keyring.keys[keyring.active].encrypt(nonce, b"", _aad(token_id, started_at, stream_id))
    mark = base64.urlsafe_b64encode(nonce + tag).rstrip(b"=").decode("ascii")
    return Stream(f"{started_at}.{stream_id}.{keyring.active}.{mark}", started_at, stream_id)


def stream_of(keyring: Keyring, token_id: str, ticket: str | None) -> Stream:
    """The stream a renewal names, if this token's license began it; ApiError(-4030) for anything else."""
    match = _TICKET.fullmatch(ticket or "") if ticket and len(ticket) <= MAX_TICKET_CHARACTERS else None
    if match is None:
        raise ApiError(-4030, "it names no license" if not ticket else "not a stream this service gave")
    started, stream_id, key_id, mark = match.groups()
    cipher = keyring.keys.get(key_id)
    try:
        raw = base64.urlsafe_b64decode(mark + "=" * (-len(mark) % 4))
        if cipher is None:
            raise InvalidTag
        cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(token_id, int(started), stream_id))
    except (InvalidTag, binascii.Error, ValueError):
        raise ApiError(-4030, "not a license this token gave") from None
    return Stream(ticket or "", int(started), stream_id)
