"""Deployment settings, read once from environment variables into a typed object."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from drmtoken.core.account import ENVIRONMENTS
from drmtoken.core.drm import PROFILES, Drm

DEFAULT_CUSTOMERS_TABLE = "drm-token-customers"
DEFAULT_CONTENT_KEYS_TABLE = "drm-token-content-keys"
DEFAULT_RECORDS_TABLE = "drm-token-records"
DEFAULT_HELD_KEYS_TABLE = "drm-token-held-keys"


class SettingsError(ValueError):
    """A deployment variable is missing or wrong: a configuration bug, not a request error."""


@dataclass(frozen=True)
class RouteSettings:
    """What a deployment sets per DRM: <PREFIX>_LICENSE_URL and <PREFIX>_ENABLED."""

    license_url: str  # the base that the token is appended to; empty: the API's own rights route
    enabled: bool  # off: requests are answered with the DRM's "switched off" code, nothing counted


@dataclass(frozen=True)
class Settings:
    environment: str
    customers_table: str
    content_keys_table: str
    routes: Mapping[Drm, RouteSettings]
    keyring_json: str | None  # inline keyring, for local runs and tests
    keyring_secret: str | None  # Secrets Manager secret id or ARN, in AWS
    keyring_cache_seconds: int
    records_table: str = DEFAULT_RECORDS_TABLE
    record_retention_seconds: int = 30 * 86400
    clearkey_enabled: bool = False  # never on a prod deployment
    allowed_origins: tuple[str, ...] = ("*",)  # CORS of the rights routes
    widevine_provider_json: str | None = None  # inline provider credentials, for local runs and tests
    widevine_provider_secret: str | None = None  # Secrets Manager secret id or ARN, in AWS
    fairplay_ksm: str | None = None  # the customer's KSM: a Lambda function name or ARN, or an https:// URL
    fairplay_certificate: bytes | None = None  # the FPS application certificate (DER), served at /hms/fp/cert
    held_keys_table: str = DEFAULT_HELD_KEYS_TABLE
    sealing_keyring_json: str | None = None  # inline key-sealing keyring, for local runs and tests
    sealing_keyring_secret: str | None = None  # its Secrets Manager secret, in AWS
    held_key_cache_seconds: int = 60  # how long a warm token function reuses a held key it read
    viewer_key: str | None = None  # inline key of the viewers' hashes, for local runs and tests
    viewer_key_secret: str | None = None  # its Secrets Manager secret, in AWS

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        environment = env.get("ENVIRONMENT", "test")
        if environment not in ENVIRONMENTS:
            raise SettingsError(f"ENVIRONMENT must be one of {ENVIRONMENTS}, not {environment!r}")
        keyring_json = env.get("TOKEN_KEYRING") or None
        keyring_secret = env.get("TOKEN_KEYRING_SECRET") or None
        if not keyring_json and not keyring_secret:
            raise SettingsError("set TOKEN_KEYRING (inline JSON) or TOKEN_KEYRING_SECRET (secret id)")
        routes = {
            drm: RouteSettings(
                license_url=env.get(
                    f"{row.settings_prefix}_LICENSE_URL", f"https://{drm}.example.com/hms/{drm}/rights/"
                ),
                enabled=_flag(env, f"{row.settings_prefix}_ENABLED"),
            )
            for drm, row in PROFILES.items()
        }
        clearkey_enabled = _flag(env, "CLEARKEY_ENABLED", default="false")
        if clearkey_enabled and environment == "prod":
            raise SettingsError("CLEARKEY_ENABLED is refused on a prod deployment: Clear Key hands out clear keys")
        origins = tuple(o.strip() for o in env.get("ALLOWED_ORIGINS", "*").split(",") if o.strip())
        return cls(
            environment=environment,
            customers_table=env.get("CUSTOMERS_TABLE", DEFAULT_CUSTOMERS_TABLE),
            content_keys_table=env.get("CONTENT_KEYS_TABLE", DEFAULT_CONTENT_KEYS_TABLE),
            routes=routes,
            keyring_json=keyring_json,
            keyring_secret=keyring_secret,
            keyring_cache_seconds=int(env.get("KEYRING_CACHE_SECONDS", "300")),
            records_table=env.get("RECORDS_TABLE", DEFAULT_RECORDS_TABLE),
            record_retention_seconds=int(env.get("RECORD_RETENTION_DAYS", "30")) * 86400,
            clearkey_enabled=clearkey_enabled,
            allowed_origins=origins or ("*",),
            widevine_provider_json=env.get("WIDEVINE_PROVIDER") or None,
            widevine_provider_secret=env.get("WIDEVINE_PROVIDER_SECRET") or None,
            fairplay_ksm=env.get("FAIRPLAY_KSM") or None,
            fairplay_certificate=_certificate(env.get("FAIRPLAY_CERTIFICATE") or ""),
            held_keys_table=env.get("HELD_KEYS_TABLE", DEFAULT_HELD_KEYS_TABLE),
            sealing_keyring_json=env.get("KEY_SEALING_KEYRING") or None,
            sealing_keyring_secret=env.get("KEY_SEALING_KEYRING_SECRET") or None,
            held_key_cache_seconds=int(env.get("HELD_KEY_CACHE_SECONDS", "60")),
            viewer_key=env.get("VIEWER_KEY") or None,
            viewer_key_secret=env.get("VIEWER_KEY_SECRET") or None,
        )

    def route(self, drm: Drm) -> RouteSettings:
        return self.routes[drm]


def _certificate(text: str) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError("FAIRPLAY_CERTIFICATE must be the certificate's DER in base64") from None


def _flag(env: Mapping[str, str], name: str, default: str = "true") -> bool:
    value = env.get(name, default).strip().lower()
    if value not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    return value == "true"
