"""The Widevine license protocol's messages for tests, read and written by Google's protobuf library.

An independent reader and writer of the bytes the service and its stand-in handle by hand:
a minimal definition of the public ``license_protocol.proto`` messages (field numbers only,
written here), built at run time from a FileDescriptorProto. Tests make CDM challenges with
it (a RENEWAL names its license as a CDM does) and read the licenses back with it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_BYTES, _BOOL, _INT64, _INT32, _MESSAGE = _F.TYPE_BYTES, _F.TYPE_BOOL, _F.TYPE_INT64, _F.TYPE_INT32, _F.TYPE_MESSAGE
PACKAGE = "drmtoken.test.widevine"

# name: [(field, number, type, label, message type)]
_MESSAGES: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "SignedMessage": [
        ("type", 1, _INT32, _OPTIONAL, None),
        ("msg", 2, _BYTES, _OPTIONAL, None),
        ("signature", 3, _BYTES, _OPTIONAL, None),
    ],
    "LicenseIdentification": [
        ("request_id", 1, _BYTES, _OPTIONAL, None),
        ("session_id", 2, _BYTES, _OPTIONAL, None),
        ("purchase_id", 3, _BYTES, _OPTIONAL, None),
        ("type", 4, _INT32, _OPTIONAL, None),
        ("version", 5, _INT32, _OPTIONAL, None),
        ("provider_session_token", 6, _BYTES, _OPTIONAL, None),
    ],
    "ExistingLicense": [
        ("license_id", 1, _MESSAGE, _OPTIONAL, "LicenseIdentification"),
        ("seconds_since_started", 2, _INT64, _OPTIONAL, None),
    ],
    "ContentIdentification": [
        ("init_data", 4, _BYTES, _OPTIONAL, None),
        ("existing_license", 3, _MESSAGE, _OPTIONAL, "ExistingLicense"),
    ],
    "LicenseRequest": [
        ("content_id", 2, _MESSAGE, _OPTIONAL, "ContentIdentification"),
        ("type", 3, _INT32, _OPTIONAL, None),
        ("request_time", 4, _INT64, _OPTIONAL, None),
    ],
    "Policy": [
        ("can_play", 1, _BOOL, _OPTIONAL, None),
        ("can_persist", 2, _BOOL, _OPTIONAL, None),
        ("can_renew", 3, _BOOL, _OPTIONAL, None),
        ("rental_duration_seconds", 4, _INT64, _OPTIONAL, None),
        ("playback_duration_seconds", 5, _INT64, _OPTIONAL, None),
        ("license_duration_seconds", 6, _INT64, _OPTIONAL, None),
        ("renewal_recovery_duration_seconds", 7, _INT64, _OPTIONAL, None),
        ("renewal_delay_seconds", 9, _INT64, _OPTIONAL, None),
        ("renewal_retry_interval_seconds", 10, _INT64, _OPTIONAL, None),
    ],
    "KeyContainer": [
        ("id", 1, _BYTES, _OPTIONAL, None),
        ("key", 3, _BYTES, _OPTIONAL, None),
        ("type", 4, _INT32, _OPTIONAL, None),
        ("level", 5, _INT32, _OPTIONAL, None),
    ],
    "License": [
        ("id", 1, _MESSAGE, _OPTIONAL, "LicenseIdentification"),
        ("policy", 2, _MESSAGE, _OPTIONAL, "Policy"),
        ("key", 3, _MESSAGE, _REPEATED, "KeyContainer"),
        ("license_start_time", 4, _INT64, _OPTIONAL, None),
    ],
}
LICENSE_REQUEST, LICENSE = 1, 2  # SignedMessage.MessageType
NEW, RENEWAL, RELEASE = 1, 2, 3  # LicenseRequest.RequestType
STREAMING, OFFLINE = 1, 2  # LicenseType


def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(name="drmtoken_test_widevine.proto", package=PACKAGE, syntax="proto2")
    for name, fields in _MESSAGES.items():
        described = file.message_type.add(name=name)
        for field, number, kind, label, type_name in fields:
            added = described.field.add(name=field, number=number, type=kind, label=label)
            if type_name:
                added.type_name = f".{PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in _MESSAGES
    }


MESSAGES = _classes()
SignedMessage, License, LicenseRequest = MESSAGES["SignedMessage"], MESSAGES["License"], MESSAGES["LicenseRequest"]


def new_challenge(init_data: bytes = b"a CDM's init data") -> bytes:
    """A first license's challenge, as a CDM signs it (the signature is not checked by anyone here)."""
    request = LicenseRequest(type=NEW, request_time=1)
    request.content_id.init_data = init_data
    return bytes(SignedMessage(type=LICENSE_REQUEST, msg=request.SerializeToString()).SerializeToString())


def renewal_challenge(license_bytes: bytes, kind: int = RENEWAL) -> bytes:
    """The RENEWAL (or RELEASE) a CDM sends for the license it holds: that license's identification."""
    held = read_license(license_bytes)
    request = LicenseRequest(type=kind, request_time=2)
    request.content_id.existing_license.license_id.CopyFrom(held.id)
    return bytes(SignedMessage(type=LICENSE_REQUEST, msg=request.SerializeToString()).SerializeToString())


def forged_renewal(session_token: bytes, kind: int = RENEWAL) -> bytes:
    """A renewal naming a license by a provider session token of the sender's choosing."""
    request = LicenseRequest(type=kind)
    request.content_id.existing_license.license_id.provider_session_token = session_token
    return bytes(SignedMessage(type=LICENSE_REQUEST, msg=request.SerializeToString()).SerializeToString())


def read_license(license_bytes: bytes) -> Any:
    """The License inside a SignedMessage of type LICENSE; AssertionError for anything else."""
    signed = SignedMessage.FromString(license_bytes)
    assert signed.type == LICENSE, signed
    return License.FromString(signed.msg)
