"""CPIX requests as AWS's packagers send them (SPEKE v2.0 with CPIX 2.3, and SPEKE v1.0).

The demo page's packager step sends them to the key provider; the tests use them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from uuid import UUID

from drmtoken.core.pssh import COMMON_SYSTEM, FAIRPLAY_SYSTEM, WIDEVINE_SYSTEM

NAMESPACES = 'xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"'
V1_NAMESPACES = NAMESPACES + ' xmlns:speke="urn:aws:amazon:com:speke"'
V2_SIGNALING = (
    "<cpix:PSSH/><cpix:ContentProtectionData/>"
    '<cpix:HLSSignalingData playlist="media"/><cpix:HLSSignalingData playlist="master"/>'
)
FAIRPLAY_V2_SIGNALING = '<cpix:HLSSignalingData playlist="media"/><cpix:HLSSignalingData playlist="master"/>'
FILTERS = {
    "AUDIO": "<cpix:AudioFilter/>",
    "VIDEO": "<cpix:VideoFilter/>",
    "SD": '<cpix:VideoFilter maxPixels="589824"/>',
    "HD": '<cpix:VideoFilter minPixels="589825" maxPixels="2073600"/>',
    "UHD": '<cpix:VideoFilter minPixels="2073601"/>',
    "ALL": "<cpix:VideoFilter/><cpix:AudioFilter/>",  # the schema's order
}
# SPEKE v2.0 presets of MediaPackage and MediaConvert: intendedTrackType of each key.
PRESETS: Mapping[str, tuple[str, ...]] = {
    "SHARED": ("ALL",),
    "PRESET-VIDEO-1 + PRESET-AUDIO-1": ("VIDEO", "AUDIO"),
    "PRESET-VIDEO-3 + PRESET-AUDIO-1": ("SD", "HD", "UHD", "AUDIO"),
}


def new_kids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def speke_v2(
    content_id: str,
    tracks: Mapping[str, str],
    systems: Sequence[UUID] = (WIDEVINE_SYSTEM,),
    scheme: str = "cenc",
    explicit_iv: bool = False,
) -> bytes:
    """A SPEKE v2.0 request: ``tracks`` maps each KID (UUID form) to its intendedTrackType."""
    iv = ' explicitIV=""' if explicit_iv else ""
    keys = "".join(f'<cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}"{iv}/>' for kid in tracks)
    drm = "".join(
        f'<cpix:DRMSystem kid="{kid}" systemId="{system}">'
        f"{FAIRPLAY_V2_SIGNALING if system == FAIRPLAY_SYSTEM else V2_SIGNALING}</cpix:DRMSystem>"
        for kid in tracks
        for system in systems
    )
    rules = "".join(
        f'<cpix:ContentKeyUsageRule kid="{kid}" intendedTrackType="{track}">{FILTERS.get(track, "<cpix:VideoFilter/>")}'
        "</cpix:ContentKeyUsageRule>"
        for kid, track in tracks.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX contentId="{content_id}" version="2.3" {NAMESPACES}>'
        f"<cpix:ContentKeyList>{keys}</cpix:ContentKeyList><cpix:DRMSystemList>{drm}</cpix:DRMSystemList>"
        f"<cpix:ContentKeyUsageRuleList>{rules}</cpix:ContentKeyUsageRuleList></cpix:CPIX>"
    ).encode()


def speke_v1(content_id: str, kid: str, systems: Sequence[UUID] = (WIDEVINE_SYSTEM, FAIRPLAY_SYSTEM)) -> bytes:
    """A SPEKE v1.0 request: one key, every system asking for the v1 signaling elements."""
    drm = ""
    for system in systems:
        inner = (
            "<cpix:URIExtXKey/><speke:KeyFormat/><speke:KeyFormatVersions/>"
            if system == FAIRPLAY_SYSTEM
            else "<cpix:PSSH/><cpix:ContentProtectionData/><cpix:URIExtXKey/>"
            "<speke:KeyFormat/><speke:KeyFormatVersions/>"
        )
        drm += f'<cpix:DRMSystem kid="{kid}" systemId="{system}">{inner}</cpix:DRMSystem>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><cpix:CPIX id="{content_id}" {V1_NAMESPACES}>'
        f'<cpix:ContentKeyList><cpix:ContentKey kid="{kid}"/></cpix:ContentKeyList>'
        f"<cpix:DRMSystemList>{drm}</cpix:DRMSystemList></cpix:CPIX>"
    ).encode()


ALL_SYSTEMS = (WIDEVINE_SYSTEM, FAIRPLAY_SYSTEM, COMMON_SYSTEM)
