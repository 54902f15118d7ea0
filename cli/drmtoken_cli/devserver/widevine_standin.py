"""A local stand-in of Widevine's license service, for `make run`, the tests, and by hand.

It takes the provider's signed getlicense message as the real service does, verifies the
signature with the development credential that Shaka Packager's documentation publishes
(``widevine_test``), accepting PKCS#7 or zero padding of the 20-byte SHA-1, and answers in
the real service's shape: ``{"status": ..., "license": base64, device fields, session_state}``.
It cannot make a license a CDM would accept (only Google can); its "license" is a digest of
the request, so tests can tell which request it answers.

Challenges drive its failures the way a real one would fail, or misbehave:
``STATUS:<NAME>`` answers that status, ``HTTP:<code>`` that HTTP status with no JSON,
``OKWITH:<code>`` a good license with that HTTP status, ``EMPTY`` OK with an empty license,
``HUGE`` an 8 MiB license, ``DEVICE`` device fields of 300 KiB and control characters,
``DEEP`` JSON 3,000 levels deep, ``TRICKLE`` a good answer a byte every half second
(``TRICKLE10`` as HTTP/1.0, ``TRICKLECLOSE`` with ``Connection: close``),
``SLOW`` answers after longer than any client waits. ``08 04`` is a service-certificate
request; anything else that is not a license request (a SignedMessage of type
LICENSE_REQUEST, ``08 01 12``) gets ``INVALID_LICENSE_CHALLENGE``, as from the real service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .standin import LoopbackService, Trickle, deep_json, trickle

TEST_PROVIDER = "widevine_test"
TEST_KEY = bytes.fromhex("1ae8ccd0e7985cc0b6203a55855a1034afc252980e970ca90e5202689f947ab9")
TEST_IV = bytes.fromhex("d58ce954203b7c9a9a9d467f59839249")
SERVICE_CERTIFICATE = b"stand-in service certificate"
DEVICE = {
    "make": "StandIn",
    "model": "Local",
    "security_level": 3,
    "platform_verification_status": "PLATFORM_UNVERIFIED",
    "system_id": 4464,
    "client_max_hdcp_version": "HDCP_V2",
}
Answer = dict[str, Any] | bytes | Trickle  # JSON, raw bytes, or bytes sent slowly
LICENSE_REQUEST = b"\x08\x01\x12"  # SignedMessage: type LICENSE_REQUEST, then its msg
SLOW_SECONDS = 7.0  # past the proxy's 5 s read timeout


class WidevineStandIn(LoopbackService):
    """The stand-in service on 127.0.0.1; ``seen`` holds every correctly signed inner request, in order."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[dict[str, Any]] = []
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"{self.base}/cenc/getlicense/{TEST_PROVIDER}"

    def provider_json(self) -> str:
        """WIDEVINE_PROVIDER for a service that should use this stand-in."""
        return json.dumps(
            {
                "provider": TEST_PROVIDER,
                "signingKey": TEST_KEY.hex(),
                "signingIv": TEST_IV.hex(),
                "licenseServiceUrl": self.url,
            }
        )

    def answer_post(self, body: bytes) -> tuple[int, str, bytes | Trickle]:
        status, answer = self.answer(body)
        if answer is None:
            return status, "text/plain", b"upstream failure"
        if isinstance(answer, (bytes, Trickle)):
            return status, "application/json", answer
        return status, "application/json", json.dumps(answer).encode()

    def answer(self, message: bytes) -> tuple[int, Answer | None]:
        """(HTTP status, JSON answer) for one POSTed message, as the real service would give them."""
        try:
            outer = json.loads(message)
            inner_bytes = base64.b64decode(outer["request"], validate=True)
            signature = base64.b64decode(outer["signature"], validate=True)
            inner = json.loads(inner_bytes)
            challenge = base64.b64decode(inner["payload"], validate=True)
        except (ValueError, KeyError, TypeError):
            return 400, {"status": "INVALID_MESSAGE"}
        if outer.get("signer") != TEST_PROVIDER or inner.get("provider") != TEST_PROVIDER:
            return 200, {"status": "PROVIDER_ID_MISMATCH"}
        if not signature_matches(inner_bytes, signature):
            return 200, {"status": "SIGNATURE_FAILED"}
        self.seen.append(inner)
        if challenge.startswith(b"HTTP:"):
            return int(challenge[5:8]), None
        if challenge.startswith(b"SLOW"):
            time.sleep(SLOW_SECONDS)
        if challenge.startswith(b"STATUS:"):
            return 200, {"status": challenge[7:].decode("ascii", "replace")}
        if challenge[:2] == b"\x08\x04" and len(challenge) <= 4:
            return 200, {"status": "OK", "license": base64.b64encode(SERVICE_CERTIFICATE).decode()}
        if not inner.get("content_key_specs"):
            return 200, {"status": "MISSING_CONTENT_KEY_SPEC"}
        license_bytes = b"stand-in license " + hashlib.sha256(inner_bytes).digest()[:16]
        session = {"license_id": {"request_id": base64.b64encode(b"req").decode()}, "signing_key": "c2VjcmV0"}
        good = {"status": "OK", "license": base64.b64encode(license_bytes).decode(), **DEVICE, "session_state": session}
        return self.misbehaving(challenge, good) or (200, good)

    def misbehaving(
        self, challenge: bytes, good: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | bytes | Trickle] | None:
        """The answer a challenge asks the stand-in to misbehave with; None for a well-behaved one."""
        if challenge.startswith(b"OKWITH:"):
            return int(challenge[7:10]), good
        if challenge.startswith(b"EMPTY"):
            return 200, {**good, "license": ""}
        if challenge.startswith(b"HUGE"):
            return 200, {**good, "license": base64.b64encode(bytes(8 << 20)).decode()}
        if challenge.startswith(b"DEVICE"):
            return 200, {**good, "make": "\x1b[2J\r\nforged line " + "m" * (300 << 10), "model": "a\nb"}
        if challenge.startswith(b"DEEP"):
            return 200, deep_json()
        if challenge.startswith(b"TRICKLE"):
            return 200, trickle(challenge, json.dumps(good).encode())
        if not challenge.startswith(LICENSE_REQUEST):
            return 200, {"status": "INVALID_LICENSE_CHALLENGE"}
        return None


def signature_matches(inner: bytes, signature: bytes) -> bool:
    """AES-256-CBC decryption of the signature is SHA-1(inner), padded with PKCS#7 or zeros."""
    if not signature or len(signature) % 16:
        return False
    decryptor = Cipher(algorithms.AES(TEST_KEY), modes.CBC(TEST_IV)).decryptor()
    plain = decryptor.update(signature) + decryptor.finalize()
    digest = hashlib.sha1(inner).digest()  # noqa: S324 - the service's scheme
    pkcs7 = digest + bytes([12]) * 12
    return plain in (pkcs7, digest + bytes(12))
