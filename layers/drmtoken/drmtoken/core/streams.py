"""A stream's ticket: what a first license gives the device and a renewal must bring back.

The ticket names the token, when its first license was given and a random stream id, and
is authenticated under the token keyring's active key (AES-GCM over no plaintext, a fresh
nonce each time), so no one can make one for another token, or move its start, without
that key. It costs no database call to check: a renewal is known to renew a license this
token gave by the ticket alone. Text, for a header or Widevine's provider session token:

    <started, epoch seconds>.<keyring key id>.<base64url of nonce (12) and tag (16)>
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from .errors import ApiError
from .token import NONCE_BYTES, Keyring

MAX_TICKET_CHARACTERS = 96  # anything longer is not one: refused before it is read
_TICKET = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]{38})")
_PURPOSE = b"drmtoken stream ticket 1\x00"  # keeps a ticket's tag apart from a token's (whose AAD starts 0x01)


@dataclass(frozen=True)
class Stream:
    ticket: str
    started_at: int  # epoch seconds of its first license

    @property
    def stream_id(self) -> str:
        """The random part, short: a stream's name in records and stream slots."""
        return self.ticket.rsplit(".", 1)[1][:16]


def _aad(token_id: str, started_at: int) -> bytes:
    return _PURPOSE + f"{token_id}\x00{started_at}".encode("ascii")


def new_stream(keyring: Keyring, token_id: str, started_at: int) -> Stream:
    nonce = os.urandom(NONCE_BYTES)
    tag = keyring.keys[keyring.active].encrypt(nonce, b"", _aad(token_id, started_at))
    mark = base64.urlsafe_b64encode(nonce + tag).rstrip(b"=").decode("ascii")
    return Stream(f"{started_at}.{keyring.active}.{mark}", started_at)


def stream_of(keyring: Keyring, token_id: str, ticket: str | None) -> Stream:
    """The stream a renewal names, if this token's license began it; ApiError(-4030) for anything else."""
    match = _TICKET.fullmatch(ticket or "") if ticket and len(ticket) <= MAX_TICKET_CHARACTERS else None
    if match is None:
        raise ApiError(-4030, "it names no license" if not ticket else "not a stream this service gave")
    started, key_id, mark = match.groups()
    cipher = keyring.keys.get(key_id)
    try:
        raw = base64.urlsafe_b64decode(mark + "=" * (-len(mark) % 4))
        if cipher is None:
            raise InvalidTag
        cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(token_id, int(started)))
    except (InvalidTag, binascii.Error, ValueError):
        raise ApiError(-4030, "not a license this token gave") from None
    return Stream(ticket or "", int(started))
