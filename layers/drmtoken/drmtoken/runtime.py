"""The composition root: settings -> adapters -> ports, built once per warm container.

Built on first use, not on import, so a cold start pays only for what it uses and
tests can swap the environment with ``reset()``.
"""

from __future__ import annotations

from drmtoken.core.license import LicenseBackend
from drmtoken.ports import (
    HeldKeyStore,
    ProviderPorts,
    RecordPorts,
    RightsPorts,
    StreamPorts,
    StreamSlots,
    TokenPorts,
    ViewerKeySource,
)
from drmtoken.settings import Settings

Runtime = TokenPorts  # what a warm token function keeps
_runtime: Runtime | None = None
_rights: RightsPorts | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(Settings.from_env())
    return _runtime


def build_runtime(settings: Settings) -> Runtime:
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.dynamodb import DynamoAccounts, DynamoKeyStore
    from drmtoken.adapters.keyring import SecretKeyring

    dynamodb = client("dynamodb")
    return Runtime(
        settings=settings,
        accounts=DynamoAccounts(dynamodb, settings.customers_table),
        keys=DynamoKeyStore(dynamodb, settings.content_keys_table, settings.held_key_cache_seconds),
        keyring=SecretKeyring(settings.keyring_json, settings.keyring_secret, settings.keyring_cache_seconds),
        held_keys=held_keys(settings, settings.held_key_cache_seconds),
        viewer_key=viewer_key(settings),
    )


def viewer_key(settings: Settings) -> ViewerKeySource:
    from drmtoken.adapters.keyring import SecretViewerKey

    return SecretViewerKey(settings.viewer_key, settings.viewer_key_secret, settings.keyring_cache_seconds)


def stream_slots(settings: Settings) -> StreamSlots:
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.streams import DynamoStreams

    return DynamoStreams(client("dynamodb"), settings.records_table)


def held_keys(settings: Settings, cache_seconds: int) -> HeldKeyStore:
    """The held keys, unsealed with the key-sealing keyring (checked on first use, not here)."""
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.heldkeys import DynamoHeldKeys
    from drmtoken.adapters.keyring import SecretKeyring

    sealing = SecretKeyring(
        settings.sealing_keyring_json,
        settings.sealing_keyring_secret,
        settings.keyring_cache_seconds,
        label="key-sealing keyring",
    )
    return DynamoHeldKeys(client("dynamodb"), settings.held_keys_table, sealing, cache_seconds)


_provider: ProviderPorts | None = None


def get_provider_ports() -> ProviderPorts:
    """What a warm key provider keeps: settings, the customers (read only), the held keys (never cached)."""
    global _provider
    if _provider is None:
        from drmtoken.adapters.aws import client
        from drmtoken.adapters.dynamodb import DynamoAccounts

        settings = Settings.from_env()
        _provider = ProviderPorts(
            settings=settings,
            accounts=DynamoAccounts(client("dynamodb"), settings.customers_table),
            held_keys=held_keys(settings, cache_seconds=0),
        )
    return _provider


def get_rights_ports() -> RightsPorts:
    """What a warm rights function keeps: settings, keyring, records and use counters."""
    global _rights
    if _rights is None:
        from drmtoken.adapters.aws import client
        from drmtoken.adapters.keyring import SecretKeyring
        from drmtoken.adapters.records import DynamoRecords, DynamoUses

        settings = Settings.from_env()
        dynamodb = client("dynamodb")
        _rights = RightsPorts(
            settings=settings,
            keyring=SecretKeyring(settings.keyring_json, settings.keyring_secret, settings.keyring_cache_seconds),
            records=DynamoRecords(dynamodb, settings.records_table),
            uses=DynamoUses(dynamodb, settings.records_table),
            streams=stream_slots(settings),
        )
    return _rights


_widevine: LicenseBackend | None = None


def widevine_backend(ports: RightsPorts) -> LicenseBackend | None:
    """The Widevine license service of this deployment's provider account; None when none is configured."""
    global _widevine
    settings = ports.settings
    if not (settings.widevine_provider_json or settings.widevine_provider_secret):
        return None
    if _widevine is None:
        from drmtoken.adapters.widevine_service import ProviderSource, WidevineLicenseService

        source = ProviderSource(
            settings.widevine_provider_json, settings.widevine_provider_secret, settings.keyring_cache_seconds
        )
        _widevine = WidevineLicenseService(source)
    return _widevine


_fairplay: LicenseBackend | None = None


def fairplay_backend(ports: RightsPorts) -> LicenseBackend:
    """The customer's KSM; a deployment without one answers -6006 (refused before any use is taken)."""
    global _fairplay
    if _fairplay is None:
        from drmtoken.adapters.ksm import KsmClient

        _fairplay = KsmClient(ports.settings.fairplay_ksm)
    return _fairplay


_records: RecordPorts | None = None


def get_record_ports() -> RecordPorts:
    """What a warm getrecord function keeps: settings, the account gate, the records reader."""
    global _records
    if _records is None:
        from drmtoken.adapters.aws import client
        from drmtoken.adapters.dynamodb import DynamoAccounts
        from drmtoken.adapters.records import DynamoRecordReader

        settings = Settings.from_env()
        dynamodb = client("dynamodb")
        _records = RecordPorts(
            settings=settings,
            accounts=DynamoAccounts(dynamodb, settings.customers_table),
            records=DynamoRecordReader(dynamodb, settings.records_table),
        )
    return _records


_streams: StreamPorts | None = None


def get_stream_ports() -> StreamPorts:
    """What a warm streams API function keeps: settings, the account gate, the viewer key, the slots."""
    global _streams
    if _streams is None:
        from drmtoken.adapters.aws import client
        from drmtoken.adapters.dynamodb import DynamoAccounts

        settings = Settings.from_env()
        _streams = StreamPorts(
            settings=settings,
            accounts=DynamoAccounts(client("dynamodb"), settings.customers_table),
            viewer_key=viewer_key(settings),
            streams=stream_slots(settings),
        )
    return _streams


def reset() -> None:
    """Forget everything built so far; the next request reads the environment again."""
    global _runtime, _rights, _records, _widevine, _fairplay, _provider, _streams
    _runtime = None
    _streams = None
    _provider = None
    _rights = None
    _records = None
    _widevine = None
    _fairplay = None
