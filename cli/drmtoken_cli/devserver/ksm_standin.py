"""A local stand-in of a customer's FairPlay key security module, for `make run`, the tests, and by hand.

It takes the JSON the service sends a KSM, checks it (an SPC, a 16-byte key and IV in hex,
and, when told what to expect, the token's key, IV and KID), and answers ``{"ckc": ...}``: a
fake CKC derived from what it received, so a test can tell it was made from the right key.
SPCs drive its failures as a real KSM's would fail: ``ERROR:<text>`` answers
``{"error": text}``, ``GARBAGE`` answers something that is not JSON, ``HTTP:<code>`` that
status, ``SLOW`` answers after longer than any client waits.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

from .standin import LoopbackService

SLOW_SECONDS = 7.0  # past the client's 5 s read timeout
_HEX16 = re.compile(r"[0-9a-f]{32}")


def fake_ckc(spc: bytes, content_key: str, iv: str) -> bytes:
    """What this stand-in answers: tied to the SPC, the key and the IV it was given."""
    return b"stand-in ckc " + hashlib.sha256(spc + bytes.fromhex(content_key) + bytes.fromhex(iv)).digest()[:16]


class KsmStandIn(LoopbackService):
    """The stand-in KSM on 127.0.0.1; ``seen`` holds every request it received; ``expect`` what it checks."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[dict[str, Any]] = []
        self.expect: dict[str, Any] = {}  # e.g. {"contentKey": ..., "iv": ..., "kid": ...}
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"{self.base}/ksm"

    def answer_post(self, body: bytes) -> tuple[int, str, bytes]:
        status, payload = self.answer(body)
        return status, "application/json", payload

    def answer(self, message: bytes) -> tuple[int, bytes]:
        try:
            request = json.loads(message)
            spc = base64.b64decode(request["spc"], validate=True)
            key, iv = request["contentKey"], request["iv"]
        except (ValueError, KeyError, TypeError):
            return 200, json.dumps({"error": "not a KSM request"}).encode()
        self.seen.append(request)
        if not (_HEX16.fullmatch(str(key)) and _HEX16.fullmatch(str(iv))):
            return 200, json.dumps({"error": "contentKey and iv must be 32 lower-case hex digits"}).encode()
        wrong = [name for name, value in self.expect.items() if request.get(name) != value]
        if wrong:
            return 200, json.dumps({"error": f"does not match the token: {', '.join(sorted(wrong))}"}).encode()
        if spc.startswith(b"ERROR:"):
            return 200, json.dumps({"error": spc[6:].decode("ascii", "replace")}).encode()
        if spc.startswith(b"GARBAGE"):
            return 200, b"<html>not json</html>"
        if spc.startswith(b"HTTP:"):
            return int(spc[5:8]), b"upstream failure"
        if spc.startswith(b"SLOW"):
            time.sleep(SLOW_SECONDS)
        return 200, json.dumps({"ckc": base64.b64encode(fake_ckc(spc, key, iv)).decode()}).encode()
