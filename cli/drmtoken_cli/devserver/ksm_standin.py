"""A local stand-in of a customer's FairPlay key security module, for `make run`, the tests, and by hand.

It takes the JSON the service sends a KSM, checks it (an SPC, a 16-byte key and IV in hex,
every entry of ``keys`` alike, and, when told what to expect, the token's key, IV and KID),
and answers ``{"ckc": ...}``: a fake CKC derived from what it received, so a test can tell
it was made from the right key. A real KSM reads from the SPC which key the player asks for
(the KID its ``skd://`` URI names); here an SPC starting ``KID:<32 hex>`` asks for that KID
among ``keys`` (not there: an error), any other SPC for the single-key fields. What the
request says of the key's duration (``keyType``, one of Apple's content key duration types,
and ``leaseSeconds``, ``rentalSeconds``, ``playbackSeconds``) is checked and written into the
CKC, where a real KSM puts its content key duration TLLV, so a test reads it back
(``ckc_duration``); a request without ``keyType`` gets the CKC it always got.
SPCs drive its failures as a real KSM's would fail, or misbehave: ``ERROR:<text>`` answers
``{"error": text}``, ``KEYLEAK`` an error quoting the key and IV it was given (hex both
cases, base64, base64url), ``GARBAGE`` something that is not JSON, ``HTTP:<code>`` a good
CKC with that status, ``SLOW`` answers after longer than any client waits, ``TRICKLE`` a
good CKC a byte every half second (``TRICKLE10`` as HTTP/1.0, ``TRICKLECLOSE`` with
``Connection: close``), ``HUGE`` an 8 MiB CKC, ``DEEP`` JSON 3,000 levels deep.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

from .standin import LoopbackService, Trickle, deep_json, trickle

SLOW_SECONDS = 7.0  # past the client's 5 s read timeout
_HEX16 = re.compile(r"[0-9a-f]{32}")
KEY_TYPES = ("lease", "rental", "lease-and-rental", "persist-unlimited", "persist-limited")
DURATION_SECONDS = ("leaseSeconds", "rentalSeconds", "playbackSeconds")
_DURATION_MARK = b" duration "


def fake_ckc(spc: bytes, content_key: str, iv: str, duration: dict[str, Any] | None = None) -> bytes:
    """What this stand-in answers: tied to the SPC, the key and the IV it was given, and the key's duration."""
    made = b"stand-in ckc " + hashlib.sha256(spc + bytes.fromhex(content_key) + bytes.fromhex(iv)).digest()[:16]
    return made + _DURATION_MARK + json.dumps(duration, sort_keys=True).encode() if duration else made


def ckc_duration(ckc: bytes) -> dict[str, Any]:
    """The key duration a stand-in CKC carries; {} when it carries none."""
    _, marked, duration = ckc.partition(_DURATION_MARK)
    return dict(json.loads(duration)) if marked else {}


def duration_of(request: dict[str, Any]) -> dict[str, Any] | None:
    """The request's key duration; None when it is malformed (a real KSM could not make that TLLV)."""
    duration = {name: request[name] for name in ("keyType", *DURATION_SECONDS) if name in request}
    if duration and duration.get("keyType") not in KEY_TYPES:
        return None
    seconds = [duration[name] for name in DURATION_SECONDS if name in duration]
    if not all(isinstance(value, int) and not isinstance(value, bool) and value > 0 for value in seconds):
        return None
    return duration


class KsmStandIn(LoopbackService):
    """The stand-in KSM on 127.0.0.1; ``seen`` holds every request it received; ``expect`` what it checks."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[dict[str, Any]] = []
        self.expect: dict[str, Any] = {}  # e.g. {"contentKey": ..., "iv": ..., "kid": ...}
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"{self.base}/ksm"

    def answer_post(self, body: bytes) -> tuple[int, str, bytes | Trickle]:
        status, payload = self.answer(body)
        return status, "application/json", payload

    def answer(self, message: bytes) -> tuple[int, bytes | Trickle]:
        try:
            request = json.loads(message)
            spc = base64.b64decode(request["spc"], validate=True)
            key, iv = request["contentKey"], request["iv"]
        except (ValueError, KeyError, TypeError):
            return 200, json.dumps({"error": "not a KSM request"}).encode()
        self.seen.append(request)
        keys = request.get("keys", [])
        if not isinstance(keys, list) or not all(well_formed(entry) for entry in keys):
            return 200, json.dumps({"error": "keys must be objects of contentKey and iv in hex, and kid"}).encode()
        if not (_HEX16.fullmatch(str(key)) and _HEX16.fullmatch(str(iv))):
            return 200, json.dumps({"error": "contentKey and iv must be 32 lower-case hex digits"}).encode()
        if spc.startswith(b"KID:"):
            asked = spc[4:36].decode("ascii", "replace")
            chosen = [entry for entry in keys if entry["kid"] == asked]
            if not chosen:
                return 200, json.dumps({"error": "the SPC asks for a KID the request does not carry"}).encode()
            key, iv = chosen[0]["contentKey"], chosen[0]["iv"]
        wrong = [name for name, value in self.expect.items() if request.get(name) != value]
        if wrong:
            return 200, json.dumps({"error": f"does not match the token: {', '.join(sorted(wrong))}"}).encode()
        duration = duration_of(request)
        if duration is None:
            return 200, json.dumps({"error": "keyType must be a key duration type, its seconds above 0"}).encode()
        ckc = json.dumps({"ckc": base64.b64encode(fake_ckc(spc, key, iv, duration)).decode()}).encode()
        if spc.startswith(b"ERROR:"):
            return 200, json.dumps({"error": spc[6:].decode("ascii", "replace")}).encode()
        if spc.startswith(b"KEYLEAK"):
            return 200, json.dumps({"error": f"cannot use key {leak(key)} iv {leak(iv)}"}).encode()
        if spc.startswith(b"GARBAGE"):
            return 200, b"<html>not json</html>"
        if spc.startswith(b"HTTP:"):
            return int(spc[5:8]), ckc
        if spc.startswith(b"HUGE"):
            return 200, json.dumps({"ckc": base64.b64encode(bytes(8 << 20)).decode()}).encode()
        if spc.startswith(b"DEEP"):
            return 200, deep_json()
        if spc.startswith(b"TRICKLE"):
            return 200, trickle(spc, ckc)
        if spc.startswith(b"SLOW"):
            time.sleep(SLOW_SECONDS)
        return 200, ckc


def well_formed(entry: Any) -> bool:
    """A ``keys`` entry: key and IV in hex; its KID in hex, or null for a given key that named none."""
    if not isinstance(entry, dict) or not (entry.get("kid") is None or _HEX16.fullmatch(str(entry["kid"]))):
        return False
    return all(_HEX16.fullmatch(str(entry.get(name))) for name in ("contentKey", "iv"))


def leak(hex_value: str) -> str:
    """A value in every spelling a careless KSM might quote it in."""
    raw = bytes.fromhex(hex_value)
    url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return " / ".join((hex_value, hex_value.upper(), base64.b64encode(raw).decode(), url))
