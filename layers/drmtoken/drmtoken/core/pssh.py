"""DRM signaling for packagers: PSSH boxes, DASH ContentProtection data and HLS key tags, one row per system.

The bytes are written here by hand, a few of them: a PSSH box (ISO/IEC 23001-7, 8.1) and
the Widevine PSSH data (a protobuf message of three fields). Tests read them back with
independent readers: the protobuf library, Shaka Packager (which refuses a bad box) and
Chromium, which finds the KIDs of a W3C common PSSH when it plays the demo title.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from uuid import UUID

from .protobuf import bytes_field, varint_field

WIDEVINE_SYSTEM = UUID("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed")
FAIRPLAY_SYSTEM = UUID("94ce86fb-07ff-4f43-adb8-93d2fa968ca2")
COMMON_SYSTEM = UUID("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b")  # W3C Common PSSH: Clear Key playback
PLAYREADY_SYSTEM = UUID("9a04f079-9840-4286-ab92-e65be0885f95")  # named in refusals only

CENC_NAMESPACE = "urn:mpeg:cenc:2013"


@dataclass(frozen=True)
class KeyFacts:
    """What signaling is made of: never the key itself."""

    kid: bytes  # 16 bytes
    content_id: str
    scheme: str  # cenc, cbc1, cens or cbcs


def pssh_box(system_id: UUID, kids: list[bytes], data: bytes, version: int) -> bytes:
    """A ``pssh`` full box: version 1 lists the KIDs in the box, version 0 leaves them to the data."""
    body = struct.pack(">B3x", version) + system_id.bytes
    if version == 1:
        body += struct.pack(">I", len(kids)) + b"".join(kids)
    body += struct.pack(">I", len(data)) + data
    return struct.pack(">I", 8 + len(body)) + b"pssh" + body


def widevine_pssh_data(facts: KeyFacts) -> bytes:
    """WidevinePsshData: key_id (2), content_id (4) and protection_scheme (9, the four-character code)."""
    scheme = int.from_bytes(facts.scheme.encode("ascii"), "big")
    return bytes_field(2, facts.kid) + bytes_field(4, facts.content_id.encode("utf-8")) + varint_field(9, scheme)


@dataclass(frozen=True)
class DrmSystem:
    """One DRM system a packager may ask signaling for."""

    name: str
    system_id: UUID
    pssh: Callable[[KeyFacts], bytes]
    hls_uri: Callable[[KeyFacts], str]  # the URI of its EXT-X-KEY tag
    key_format: str  # KEYFORMAT of its EXT-X-KEY tag
    hls_key_id: bool  # KEYID=0x... in the tag (Widevine's and the common system's HLS; not Apple's)

    def content_protection_data(self, facts: KeyFacts) -> str:
        """What goes inside a DASH ContentProtection element: a standalone ``cenc:pssh``."""
        encoded = base64.b64encode(self.pssh(facts)).decode("ascii")
        return f'<cenc:pssh xmlns:cenc="{CENC_NAMESPACE}">{encoded}</cenc:pssh>'

    def hls_tag(self, facts: KeyFacts, playlist: str) -> str:
        """EXT-X-KEY for a media playlist, EXT-X-SESSION-KEY for the master playlist."""
        tag = "#EXT-X-SESSION-KEY" if playlist == "master" else "#EXT-X-KEY"
        method = "SAMPLE-AES-CTR" if facts.scheme in ("cenc", "cens") else "SAMPLE-AES"
        key_id = f",KEYID=0x{facts.kid.hex().upper()}" if self.hls_key_id else ""
        return (
            f'{tag}:METHOD={method},URI="{self.hls_uri(facts)}"{key_id},'
            f'KEYFORMAT="{self.key_format}",KEYFORMATVERSIONS="1"'
        )


def _pssh_data_uri(system: Callable[[KeyFacts], bytes]) -> Callable[[KeyFacts], str]:
    def uri(facts: KeyFacts) -> str:
        return "data:text/plain;base64," + base64.b64encode(system(facts)).decode("ascii")

    return uri


def _widevine_pssh(facts: KeyFacts) -> bytes:
    return pssh_box(WIDEVINE_SYSTEM, [], widevine_pssh_data(facts), version=0)


def _common_pssh(facts: KeyFacts) -> bytes:
    return pssh_box(COMMON_SYSTEM, [facts.kid], b"", version=1)


def _fairplay_pssh(facts: KeyFacts) -> bytes:
    # FairPlay signals in HLS; asked for a PSSH anyway (CMAF), it gets a box naming its KID.
    return pssh_box(FAIRPLAY_SYSTEM, [facts.kid], b"", version=1)


def skd_uri(facts: KeyFacts) -> str:
    """The FairPlay key URI: the KID in hex, so the app's SPC and the KSM both name the key."""
    return f"skd://{facts.kid.hex()}"


DRM_SYSTEMS: Mapping[UUID, DrmSystem] = MappingProxyType(
    {
        WIDEVINE_SYSTEM: DrmSystem(
            "Widevine",
            WIDEVINE_SYSTEM,
            _widevine_pssh,
            _pssh_data_uri(_widevine_pssh),
            f"urn:uuid:{WIDEVINE_SYSTEM}",
            hls_key_id=True,
        ),
        FAIRPLAY_SYSTEM: DrmSystem(
            "FairPlay", FAIRPLAY_SYSTEM, _fairplay_pssh, skd_uri, "com.apple.streamingkeydelivery", hls_key_id=False
        ),
        COMMON_SYSTEM: DrmSystem(
            "W3C Common (Clear Key)",
            COMMON_SYSTEM,
            _common_pssh,
            _pssh_data_uri(_common_pssh),
            f"urn:uuid:{COMMON_SYSTEM}",
            hls_key_id=True,
        ),
    }
)
