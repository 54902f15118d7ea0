"""FairPlay through the customer's key security module (docs/rights-api.md, section 4), without the network.

A CKC can only be made with Apple-issued FairPlay credentials, so the service never makes
one: it gives the token's key to the customer's KSM and hands back what the KSM answers,
in the shape the SPC came in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .errors import ApiError, DependencyError
from .keys import token_keys
from .license import License, Terms
from .rights import BUY_TO_OWN, RENTAL, Rights
from .untrusted import read_json

RAW, FORM, JSON = "raw", "form", "json"  # the three shapes an SPC arrives in, and its CKC leaves in


@dataclass(frozen=True)
class Spc:
    data: bytes
    shape: str


def read_spc(body: bytes, content_type: str) -> Spc:
    """The SPC from raw bytes, a form field ``spc=<base64>`` or JSON ``{"spc": "<base64>"}``; -6004 otherwise."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        if media_type == "application/x-www-form-urlencoded":
            (encoded,) = parse_qs(body.decode("ascii"), strict_parsing=True)["spc"]
            return Spc(base64.b64decode(encoded, validate=True), FORM)
        if media_type == "application/json":
            encoded = read_json(body)["spc"]
            return Spc(base64.b64decode(encoded, validate=True), JSON)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error) as error:
        raise ApiError(-6004, "the SPC is not readable in that form") from error
    return Spc(body, RAW)


def key_duration(rights: Rights, now: float) -> dict[str, Any]:
    """What the CKC's content key duration (Apple's key types) is to say; nothing for a plain streaming license.

    ``leaseSeconds``: how long the key may be used before it is renewed (a lease);
    ``rentalSeconds``: how long a kept key may be stored; ``playbackSeconds``: how long it
    plays once playback starts (docs/rights-api.md §4).
    """
    left, lease = rights.seconds_left(now), rights.license_seconds(now)
    if rights.kind == BUY_TO_OWN:
        return {"keyType": "persist-unlimited"}
    played = {} if rights.play_seconds is None else {"playbackSeconds": rights.play_seconds}
    if rights.kind == RENTAL and rights.renews:
        return {"keyType": "lease-and-rental", "leaseSeconds": lease, "rentalSeconds": left, **played}
    if rights.kind == RENTAL:
        return {"keyType": "persist-limited", "rentalSeconds": left, **played}
    if rights.renews:
        return {"keyType": "lease", "leaseSeconds": lease}
    return {}


def ksm_request(claims: Mapping[str, Any], spc: bytes, terms: Terms) -> dict[str, Any]:
    """What the KSM is given: the SPC and the token's keys, IVs, KIDs and policy, and who asked.

    ``keys`` holds every key of the token, so the KSM picks the one the SPC asks for
    (the skd:// URI names the KID); ``contentKey``/``iv``/``kid`` keep the first (or only) one.
    """
    keys = token_keys(claims)
    given_iv = claims.get("iv")
    return {
        **key_duration(terms.rights, terms.now),
        "spc": base64.b64encode(spc).decode("ascii"),
        "contentKey": keys[0].key.hex(),
        "iv": given_iv,
        "kid": claims.get("kid", keys[0].kid),
        "keys": [
            {
                "kid": key.kid,
                "contentKey": key.key.hex(),
                "iv": key.iv.hex() if key.iv is not None else given_iv,
                "trackType": key.track,
            }
            for key in keys
        ],
        "rentalDuration": claims.get("rentalDuration", 0),
        "extensions": list(claims.get("extensions", [])),
        "tokenId": claims.get("tokenId"),
        "customerId": claims.get("customerId"),
        "cookie": claims.get("cookie"),
    }


def read_ksm_answer(status_code: int, answer: bytes, shape: str) -> License:
    """``{"ckc": b64}`` at HTTP 200 as a CKC in the SPC's shape; another status is the KSM failing (503).

    ``{"error": ...}`` or anything unreadable is -6004, whose message never carries the
    KSM's words: they may quote the key it was given. They go to the operator's log.
    """
    if status_code != 200:
        raise failed_ksm(f"HTTP {status_code}")
    try:
        document = read_json(answer)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(-6004, "the KSM's answer is not JSON") from error
    if not isinstance(document, dict):
        raise ApiError(-6004, "the KSM's answer is not a JSON object")
    if "error" in document:
        raise ApiError(-6004, "the KSM refused", backend_said=str(document["error"]))
    try:
        ckc = base64.b64decode(document["ckc"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError) as error:
        raise ApiError(-6004, "the KSM's answer holds no CKC") from error
    if not ckc:
        raise ApiError(-6004, "the KSM's CKC is empty")
    return ckc_in_shape(ckc, shape)


def ckc_in_shape(ckc: bytes, shape: str) -> License:
    encoded = base64.b64encode(ckc).decode("ascii")
    if shape == FORM:
        return License(body=f"<ckc>{encoded}</ckc>".encode("ascii"), content_type="text/xml")
    if shape == JSON:
        return License(body=json.dumps({"ckc": encoded}).encode("ascii"), content_type="application/json")
    return License(body=ckc, content_type="application/octet-stream")


def failed_ksm(reason: str) -> DependencyError:
    return DependencyError(f"KSM failed: {reason}")
