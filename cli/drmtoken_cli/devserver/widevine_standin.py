"""A local stand-in of Widevine's license service, for `make run`, the tests, and by hand.

It takes the provider's signed getlicense message as the real service does, verifies the
signature with the development credential that Shaka Packager's documentation publishes
(``widevine_test``), accepting PKCS#7 or zero padding of the 20-byte SHA-1, and answers in
the real service's shape: ``{"status": ..., "license": base64, device fields, session_state}``.
It cannot make a license a CDM would accept (only Google can), but it answers one in the
license protocol's shape (``license_protocol.proto``'s public field numbers): a SignedMessage
of type LICENSE whose License carries the identification (request and session ids, STREAMING
or OFFLINE, version, the ``session_init`` provider session token), the policy it was told
(``policy_overrides``, so a test reads the policy back out of the license) and one
KeyContainer per key spec (its KID, never a key). It remembers the licenses it issued: a
RENEWAL (type 2) or RELEASE (type 3) of one of them, naming it by its identification, is
answered with that license's next version; any other renewal, or one of a released license,
is ``INVALID_RENEWAL_REQUEST``, as from the real service. A challenge it cannot read as a
LicenseRequest (the tests' short ones) is taken for a new license.

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
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from drmtoken.core.protobuf import Field, bytes_field, message, only, read_fields, varint_field

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

# license_protocol.proto's field numbers (public facts), the ones the stand-in reads and writes.
SIGNED_TYPE, SIGNED_MSG, SIGNED_SIGNATURE = 1, 2, 3  # SignedMessage
LICENSE_MESSAGE = 2  # SignedMessage.MessageType LICENSE
REQUEST_CONTENT_ID, REQUEST_TYPE = 2, 3  # LicenseRequest
NEW, RENEWAL, RELEASE = 1, 2, 3  # LicenseRequest.RequestType
EXISTING_LICENSE, LICENSE_ID = 3, 1  # ContentIdentification.existing_license, ExistingLicense.license_id
ID_REQUEST, ID_SESSION, ID_TYPE, ID_VERSION, ID_SESSION_TOKEN = 1, 2, 4, 5, 6  # LicenseIdentification
STREAMING, OFFLINE = 1, 2  # LicenseType
LICENSE_ID_FIELD, LICENSE_POLICY, LICENSE_KEY, LICENSE_START = 1, 2, 3, 4  # License
KEY_ID, KEY_TYPE, KEY_LEVEL, CONTENT = 1, 4, 5, 2  # License.KeyContainer, KeyType CONTENT
POLICY_FIELDS = {  # License.Policy: policy_overrides' names and their numbers
    "can_play": 1,
    "can_persist": 2,
    "can_renew": 3,
    "rental_duration_seconds": 4,
    "playback_duration_seconds": 5,
    "license_duration_seconds": 6,
    "renewal_recovery_duration_seconds": 7,
    "renewal_delay_seconds": 9,
    "renewal_retry_interval_seconds": 10,
}


class WidevineStandIn(LoopbackService):
    """The stand-in service on 127.0.0.1; ``seen`` holds every correctly signed inner request, in order."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[dict[str, Any]] = []
        self.issued: dict[bytes, Issued] = {}  # by provider session token: the licenses it may renew
        self._lock = threading.Lock()
        self._now = time.time  # the license's start time; tests may move it
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
        kind, named = request_of(challenge)
        if kind == NEW and not inner.get("content_key_specs"):
            return 200, {"status": "MISSING_CONTENT_KEY_SPEC"}
        if kind == NEW:
            license_bytes, license_id = self.new_license(inner, challenge)
        else:
            answered = self.renewed_license(inner, named, released=kind == RELEASE)
            if answered is None:
                return 200, {"status": "INVALID_RENEWAL_REQUEST"}
            license_bytes, license_id = answered
        session = {"license_id": license_id, "signing_key": "c2VjcmV0"}
        good = {"status": "OK", "license": base64.b64encode(license_bytes).decode(), **DEVICE, "session_state": session}
        return self.misbehaving(challenge, good) or (200, good)

    def new_license(self, inner: dict[str, Any], challenge: bytes) -> tuple[bytes, dict[str, Any]]:
        policy = inner.get("policy_overrides") or {}
        token = base64.b64decode((inner.get("session_init") or {}).get("provider_session_token") or "")
        issued = Issued(
            request_id=hashlib.sha256(challenge).digest()[:16],
            session_id=hashlib.sha256(b"session" + challenge).digest()[:16],
            offline=bool(policy.get("can_persist")),
            session_token=token,
        )
        if token:
            with self._lock:
                self.issued[token] = issued
        keys = [container(spec) for spec in inner["content_key_specs"]]
        return signed_license(issued, policy, keys, int(self._now())), issued.json()

    def renewed_license(
        self, inner: dict[str, Any], named: bytes | None, released: bool
    ) -> tuple[bytes, dict[str, Any]] | None:
        """The next version of the license a renewal or release names; None when it names none this issued."""
        with self._lock:
            named_id = identification(named)
            token = named_id.get(ID_SESSION_TOKEN)
            issued = self.issued.get(token) if isinstance(token, bytes) else None
            if issued is None or issued.released or named_id != identification(issued.encoded()):
                return None
            issued.version += 1
            issued.released = released
        policy = {} if released else inner.get("policy_overrides") or {}
        return signed_license(issued, policy, [], int(self._now())), issued.json()

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


@dataclass
class Issued:
    """A license the stand-in gave: its identification, as a renewal must name it."""

    request_id: bytes
    session_id: bytes
    offline: bool
    session_token: bytes
    version: int = 0
    released: bool = False

    def encoded(self, version: int | None = None) -> bytes:
        """Its LicenseIdentification; the CDM sends back the one of the license it holds."""
        return message(
            [
                bytes_field(ID_REQUEST, self.request_id),
                bytes_field(ID_SESSION, self.session_id),
                varint_field(ID_TYPE, OFFLINE if self.offline else STREAMING),
                varint_field(ID_VERSION, self.version if version is None else version),
                bytes_field(ID_SESSION_TOKEN, self.session_token),
            ]
        )

    def json(self) -> dict[str, Any]:
        """How the service's JSON answer (session_state.license_id) shows it."""
        return {
            "request_id": base64.b64encode(self.request_id).decode(),
            "session_id": base64.b64encode(self.session_id).decode(),
            "type": "OFFLINE" if self.offline else "STREAMING",
            "version": self.version,
        }


def request_of(challenge: bytes) -> tuple[int, bytes | None]:
    """A challenge's request type, and for a renewal or release the LicenseIdentification it names.

    Unreadable as a LicenseRequest: a new license (the misbehaviour markers and the tests' short challenges).
    """
    try:
        request = read_fields(bytes(only(read_fields(challenge), SIGNED_MSG, bytes) or b""))
        kind = int(only(request, REQUEST_TYPE, int) or NEW)
        if kind not in (RENEWAL, RELEASE):
            return NEW, None
        content = read_fields(bytes(only(request, REQUEST_CONTENT_ID, bytes) or b""))
        existing = read_fields(bytes(only(content, EXISTING_LICENSE, bytes) or b""))
        named = only(existing, LICENSE_ID, bytes)
        return kind, None if named is None else bytes(named)
    except ValueError:
        return NEW, None


def identification(encoded: bytes | None) -> dict[int, int | bytes]:
    """A LicenseIdentification's fields but its version: what names a license across its renewals."""
    try:
        fields: list[Field] = read_fields(encoded or b"")
    except ValueError:
        return {}
    return {number: value for number, value in fields if number != ID_VERSION}


def container(spec: dict[str, Any]) -> bytes:
    """A content key's KeyContainer: its KID and security level (the real one also carries the key, encrypted)."""
    return message(
        [
            bytes_field(KEY_ID, base64.b64decode(spec["key_id"])),
            varint_field(KEY_TYPE, CONTENT),
            varint_field(KEY_LEVEL, int(spec.get("security_level", 1))),
        ]
    )


def signed_license(issued: Issued, policy: dict[str, Any], keys: list[bytes], now: int) -> bytes:
    """SignedMessage{LICENSE, License{id, policy, keys, start time}}, signed with a digest (not Google's key)."""
    policy_bytes = message(
        varint_field(number, int(policy[name])) for name, number in POLICY_FIELDS.items() if name in policy
    )
    body = message(
        [
            bytes_field(LICENSE_ID_FIELD, issued.encoded()),
            bytes_field(LICENSE_POLICY, policy_bytes),
            *(bytes_field(LICENSE_KEY, key) for key in keys),
            varint_field(LICENSE_START, now),
        ]
    )
    signature = hashlib.sha256(body).digest()
    return message(
        [
            varint_field(SIGNED_TYPE, LICENSE_MESSAGE),
            bytes_field(SIGNED_MSG, body),
            bytes_field(SIGNED_SIGNATURE, signature),
        ]
    )


def signature_matches(inner: bytes, signature: bytes) -> bool:
    """AES-256-CBC decryption of the signature is SHA-1(inner), padded with PKCS#7 or zeros."""
    if not signature or len(signature) % 16:
        return False
    decryptor = Cipher(algorithms.AES(TEST_KEY), modes.CBC(TEST_IV)).decryptor()
    plain = decryptor.update(signature) + decryptor.finalize()
    digest = hashlib.sha1(inner).digest()  # noqa: S324 - the service's scheme
    pkcs7 = digest + bytes([12]) * 12
    return plain in (pkcs7, digest + bytes(12))
