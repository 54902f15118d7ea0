"""The Widevine license proxy's messages (docs/rights-api.md, section 3), without the network.

A real Widevine license is signed by Google's license service for a provider account. The
route builds the provider's signed "getlicense" request from the token and the CDM's
challenge, and reads the service's answer; ``adapters.widevine_service`` carries them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import ApiError, DependencyError
from .keys import token_keys
from .license import CERTIFICATE, LICENSE, RELEASE, RENEWAL, Ask, License, Terms
from .protobuf import Field, only, read_fields
from .rights import GRACE_SECONDS, RENEWAL_RETRY_SECONDS
from .untrusted import device_field, read_json

DEFAULT_SERVICE = "https://license.widevine.com/cenc/getlicense/{provider}"
HDCP = {0: "HDCP_NONE", 1: "HDCP_V1", 2: "HDCP_V2"}
DEVICE_FIELDS = (  # what a record may keep of the answer; never session_state, never the license
    "make",
    "model",
    "security_level",
    "platform_verification_status",
    "system_id",
    "client_max_hdcp_version",
)
# The license service's statuses a player may be told (its license proxy documentation);
# any other text in that field is the back end's own, and goes to the operator's log only.
KNOWN_STATUSES = frozenset(
    {
        "SIGNATURE_FAILED",
        "INVALID_WIDEVINE_CDM",
        "INVALID_LICENSE_CHALLENGE",
        "INVALID_CONTENT_INFO",
        "POLICY_UNKNOWN",
        "MALFORMED_REQUEST",
        "PROVIDER_MISSING",
        "INVALID_REQUEST",
        "ACCESS_DENIED",
        "SIGNING_KEY_EXPIRED",
        "INVALID_RENEWAL_REQUEST",
        "DRM_DEVICE_CERTIFICATE_REVOKED",
        "DRM_DEVICE_CERTIFICATE_UNKNOWN",
        "INVALID_DRM_DEVICE_CERTIFICATE",
        "DRM_DEVICE_CERTIFICATE_SERIAL_NUMBER_REVOKED",
        "PLATFORM_VERIFICATION_FAILED",
        "PLATFORM_VERIFICATION_REQUIRED",
    }
)
_PROVIDER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class WidevineProvider:
    """A Widevine provider account's signing credential."""

    name: str
    signing_key: bytes = field(repr=False)  # AES-256
    signing_iv: bytes = field(repr=False)
    service_url: str

    @classmethod
    def from_json(cls, text: str) -> WidevineProvider:
        """``{"provider", "signingKey": 64 hex, "signingIv": 32 hex, "licenseServiceUrl"?}``; errors quote nothing."""
        try:
            document = json.loads(text)
            name = document["provider"]
            key, iv = bytes.fromhex(document["signingKey"]), bytes.fromhex(document["signingIv"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(
                'provider credentials need "provider", "signingKey" (hex) and "signingIv" (hex)'
            ) from error
        if not isinstance(name, str) or not _PROVIDER.fullmatch(name) or len(key) != 32 or len(iv) != 16:
            raise ValueError("provider name, a 32-byte signingKey and a 16-byte signingIv are required")
        url = document.get("licenseServiceUrl") or DEFAULT_SERVICE.format(provider=name)
        if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("licenseServiceUrl must be https:// (or a loopback http:// address)")
        return cls(name, key, iv, url)

    def sign(self, message: bytes) -> bytes:
        """AES-256-CBC of SHA-1(message) under the provider's key and IV, PKCS#7 padded."""
        padder = padding.PKCS7(128).padder()
        digest = padder.update(hashlib.sha1(message).digest()) + padder.finalize()  # noqa: S324 - the service's scheme
        encryptor = Cipher(algorithms.AES(self.signing_key), modes.CBC(self.signing_iv)).encryptor()
        return encryptor.update(digest) + encryptor.finalize()


def is_certificate_request(challenge: bytes) -> bool:
    """A service-certificate request: at most 4 bytes, the first field message type 4 (``08 04``)."""
    return len(challenge) <= 4 and challenge[:2] == b"\x08\x04"


# license_protocol.proto's field numbers, the few read here.
SIGNED_TYPE, SIGNED_MSG = 1, 2  # SignedMessage.type, .msg
LICENSE_REQUEST = 1  # SignedMessage.MessageType
REQUEST_CONTENT_ID, REQUEST_TYPE = 2, 3  # LicenseRequest.content_id, .type
EXISTING_LICENSE = 3  # ContentIdentification.existing_license
LICENSE_ID = 1  # ExistingLicense.license_id
PROVIDER_SESSION_TOKEN = 6  # LicenseIdentification.provider_session_token
REQUEST_KINDS = {1: LICENSE, 2: RENEWAL, 3: RELEASE}  # LicenseRequest.RequestType: NEW, RENEWAL, RELEASE


def ask_of(challenge: bytes) -> Ask:
    """What a CDM's challenge asks for, read from the challenge (a renewal is never taken on trust).

    A RENEWAL or RELEASE names the license it renews by the provider session token the
    first license carried (our stream ticket). Anything unreadable as a license request is
    a first license as far as the service can tell: it takes a use, and the license service
    refuses it. A renewal whose license id cannot be read names none (refused here).
    """
    if is_certificate_request(challenge):
        return Ask(CERTIFICATE)
    try:
        outer = read_fields(challenge)
        if only(outer, SIGNED_TYPE, int) != LICENSE_REQUEST:
            return Ask(LICENSE)
        request = read_fields(bytes(only(outer, SIGNED_MSG, bytes) or b""))
        kind = REQUEST_KINDS.get(int(only(request, REQUEST_TYPE, int) or 1), LICENSE)
    except ValueError:
        return Ask(LICENSE)
    if kind == LICENSE:
        return Ask(LICENSE)
    return Ask(kind, session_token_of(request))


def session_token_of(request: list[Field]) -> str | None:
    """content_id.existing_license.license_id.provider_session_token, as text; None when it is not there."""
    try:
        node: bytes | None = bytes(only(request, REQUEST_CONTENT_ID, bytes) or b"")
        for number in (EXISTING_LICENSE, LICENSE_ID, PROVIDER_SESSION_TOKEN):
            value = only(read_fields(node or b""), number, bytes)
            node = None if value is None else bytes(value)
        return node.decode("ascii") if node else None
    except (ValueError, UnicodeDecodeError):
        return None


def policy_overrides(claims: Mapping[str, Any], terms: Terms) -> dict[str, Any]:
    """What the license service is told to enforce (its policy_overrides), from the token's rights."""
    rights = terms.rights
    policy: dict[str, Any] = {"can_play": True}
    if "licenseDuration" in claims:
        policy["playback_duration_seconds"] = claims["licenseDuration"]  # 0: unlimited, as Widevine reads it
    if rights.persistent:
        policy["can_persist"] = True
    if rights.period_end is not None:
        policy["rental_duration_seconds"] = rights.seconds_left(terms.now)
        if rights.play_seconds is not None:
            policy["playback_duration_seconds"] = rights.play_seconds
    lasts = rights.license_seconds(terms.now)
    if lasts is not None:
        policy["license_duration_seconds"] = lasts
    if rights.renewal_interval is not None:
        policy.update(
            can_renew=True,
            renewal_delay_seconds=rights.renewal_interval,
            renewal_retry_interval_seconds=RENEWAL_RETRY_SECONDS,
            renewal_recovery_duration_seconds=GRACE_SECONDS,
        )
    return policy


def inner_request(provider: WidevineProvider, claims: Mapping[str, Any], challenge: bytes, terms: Terms) -> bytes:
    """The JSON the provider signs: the challenge, and the token's policy; the keys only for a first license.

    A first license's session carries the stream's ticket as its provider session token,
    which the CDM brings back in every renewal and release of that license.
    """
    inner: dict[str, Any] = {"payload": b64(challenge), "provider": provider.name}
    if terms.kind != CERTIFICATE:
        if claims.get("contentId"):
            inner["content_id"] = b64(str(claims["contentId"]).encode("utf-8"))
        if terms.kind == LICENSE:
            inner["content_key_specs"] = key_specs(claims)
            if terms.stream is not None:
                inner["session_init"] = {"provider_session_token": b64(terms.stream.ticket.encode("ascii"))}
        if terms.kind != RELEASE:
            inner["policy_overrides"] = policy_overrides(claims, terms)
            inner["use_policy_overrides_exclusively"] = True
    return json.dumps(inner, separators=(",", ":")).encode("utf-8")


def key_specs(claims: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One key spec per key of the token; a key with a track type gets that track's policy (trackPolicy)."""
    policies = {track: (level, hdcp) for track, level, hdcp in claims.get("trackPolicy") or []}
    specs = []
    for key in token_keys(claims):
        level, hdcp = policies.get(key.track or "", (claims["securityLevel"], claims["hdcpOutputControl"]))
        spec: dict[str, Any] = {"key_id": b64(bytes.fromhex(key.kid or "")), "key": b64(key.key)}
        if key.track is not None:
            spec["track_type"] = key.track
        spec.update(security_level=level, required_output_protection={"hdcp": HDCP[hdcp]})
        specs.append(spec)
    return specs


def signed_message(provider: WidevineProvider, inner: bytes) -> bytes:
    """The outer message POSTed to the license service; the signature covers exactly ``inner``."""
    outer = {"request": b64(inner), "signature": b64(provider.sign(inner)), "signer": provider.name}
    return json.dumps(outer, separators=(",", ":")).encode("utf-8")


def read_answer(status_code: int, body: bytes, kind: str) -> License:
    """The license service's answer as a license, or the contract's refusal or failure.

    Only HTTP 200 with status OK and a license of at least one byte is a license. A status is
    named to the player only when it is one of the service's known statuses: anything else it
    says is the back end's own text, for the operator's log alone.
    """
    if status_code != 200:
        raise DependencyError(f"Widevine license service answered HTTP {status_code}")
    try:
        answer = read_json(body)
        status = str(answer["status"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise DependencyError("Widevine license service answered without a status") from error
    if status == "OK":
        try:
            license_bytes = base64.b64decode(answer["license"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError) as error:
            raise DependencyError("Widevine license service answered OK without a license") from error
        if not license_bytes:
            raise DependencyError("Widevine license service answered OK with an empty license")
        device = {name: device_field(answer.get(name)) for name in DEVICE_FIELDS}
        # The service's status is kept as serviceStatus: the record's own status is the HTTP one.
        return License(
            body=license_bytes,
            content_type="application/octet-stream",
            device={**{k: v for k, v in device.items() if v is not None}, "serviceStatus": status},
        )
    if status == "INTERNAL_ERROR":
        raise DependencyError("Widevine license service: INTERNAL_ERROR")
    shown = status if status in KNOWN_STATUSES else "UNKNOWN_STATUS"
    code = -4001 if "DEVICE" in shown or "PLATFORM" in shown else -7008
    raise ApiError(code, shown, backend_said=None if shown == status else status)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
