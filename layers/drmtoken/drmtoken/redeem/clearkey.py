"""W3C Clear Key licenses (EME, section 9.1.3) for a Widevine token's key: the one back end in process."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from drmtoken.core.errors import ApiError
from drmtoken.core.keys import token_keys
from drmtoken.core.license import Ask, License, Terms, ask_by_header
from drmtoken.core.untrusted import read_json
from drmtoken.ports import RightsPorts

TEMPORARY, PERSISTENT = "temporary", "persistent-license"  # the EME session types Clear Key answers


class ClearKeyBackend:
    """Answers ``{"kids": [...], "type": ...}`` with every asked-for key the token holds, in the session's type.

    A ``persistent-license`` session (a license to keep) needs a token that grants one
    (``rightsType``); the answer's type is the request's, as a CDM requires.
    """

    def kind_of(self, body: bytes, renewal_of: str | None) -> Ask:
        return ask_by_header(renewal_of)

    def issue(
        self, claims: Mapping[str, Any], body: bytes, content_type: str, deadline: float, terms: Terms
    ) -> License:
        requested, session_type = read_request(body)
        if session_type == PERSISTENT and not terms.rights.persistent:
            raise ApiError(-4032)
        keys = [
            {"kty": "oct", "kid": b64url(bytes.fromhex(key.kid or "")), "k": b64url(key.key)}
            for key in token_keys(claims)
            if key.kid is not None and bytes.fromhex(key.kid) in requested
        ]
        if not keys:
            raise ApiError(-4023)
        answer = json.dumps({"keys": keys, "type": session_type}, separators=(",", ":"))
        return License(body=answer.encode("ascii"), content_type="application/json")


def read_request(body: bytes) -> tuple[list[bytes], str]:
    """The KIDs of a Clear Key license request, as bytes, and its session type; -7008 for anything else."""
    try:
        request = read_json(body)
        kids = request["kids"] if isinstance(request, dict) else None
        if not isinstance(kids, list) or not kids or not all(isinstance(k, str) for k in kids):
            raise ValueError("kids must be a non-empty list of strings")
        session_type = request.get("type", TEMPORARY)
        if session_type not in (TEMPORARY, PERSISTENT):
            raise ValueError("type must be temporary or persistent-license")
        return [unb64url(kid) for kid in kids], session_type
    except (ValueError, KeyError, UnicodeDecodeError, binascii.Error) as error:
        raise ApiError(-7008, "not a Clear Key license request") from error


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def clearkey_backend(ports: RightsPorts) -> ClearKeyBackend | None:
    """The Clear Key back end where the deployment switched it on; None (no such route) elsewhere."""
    return ClearKeyBackend() if ports.settings.clearkey_enabled else None
