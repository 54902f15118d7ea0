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
from .license import CERTIFICATE, LICENSE, License
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


def inner_request(provider: WidevineProvider, claims: Mapping[str, Any], challenge: bytes) -> bytes:
    """The JSON the provider signs: the challenge, and for a license the token's key and policy."""
    inner: dict[str, Any] = {"payload": b64(challenge), "provider": provider.name}
    if not is_certificate_request(challenge):
        if claims.get("contentId"):
            inner["content_id"] = b64(str(claims["contentId"]).encode("utf-8"))
        inner["content_key_specs"] = key_specs(claims)
        policy: dict[str, Any] = {"can_play": True}
        if "licenseDuration" in claims:
            policy["playback_duration_seconds"] = claims["licenseDuration"]  # 0: unlimited, as Widevine reads it
        inner["policy_overrides"] = policy
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


def kind_of(challenge: bytes) -> str:
    return CERTIFICATE if is_certificate_request(challenge) else LICENSE


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
