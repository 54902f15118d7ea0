"""CPIX for SPEKE (docs/key-provider.md): what a packager asks for, and the same document completed.

The body is untrusted XML. It is parsed by defusedxml (no DTD, no entity, no external
reference), bounded in bytes, depth and element count while it is parsed, and checked
against the rules of SPEKE v1.0 / v2.0 (CPIX 2.3) before anything is stored. A refusal
is a ``CpixError`` whose message is ours: it may name an element or a KID of the
request, never other text from it.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from uuid import UUID
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .heldkeys import IV_BYTES, HeldKey
from .pssh import DRM_SYSTEMS, FAIRPLAY_SYSTEM, PLAYREADY_SYSTEM, DrmSystem, KeyFacts

CPIX = "urn:dashif:org:cpix"
PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
SPEKE = "urn:aws:amazon:com:speke"
for _prefix, _uri in (("cpix", CPIX), ("pskc", PSKC), ("speke", SPEKE)):
    ElementTree.register_namespace(_prefix, _uri)

MAX_CPIX_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_ELEMENTS = 5000
MAX_KEYS = 64  # content keys in one request (several key periods of a live event among them)
SCHEMES = frozenset({"cenc", "cbc1", "cens", "cbcs"})
# X-Speke-Version -> the CPIX@version it goes with; no header at all is SPEKE v1.0.
CPIX_VERSION_OF = MappingProxyType({"2.0": "2.3", "2.1": "2.4"})


class CpixError(Exception):
    """A request the key provider refuses: the HTTP status and a message of ours, nothing else."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


@dataclass
class RequestedKey:
    kid: str  # 32 lower-case hex digits
    scheme: str
    wants_iv: bool  # the request carries explicitIV
    given_iv: bytes | None = field(default=None, repr=False)  # an IV the packager chose
    element: Any = field(default=None, repr=False)


@dataclass
class RequestedSignaling:
    system: DrmSystem
    kid: str
    element: Any = field(repr=False)


@dataclass
class CpixRequest:
    speke_version: str  # "1.0", "2.0" or "2.1"
    content_id: str
    keys: list[RequestedKey]
    signaling: list[RequestedSignaling]
    track_types: dict[str, str]  # kid -> intendedTrackType of its usage rule
    root: Any = field(repr=False)

    @property
    def kids(self) -> list[str]:
        return [key.kid for key in self.keys]


# --- reading ----------------------------------------------------------------------


def read_cpix(body: bytes, speke_version_header: str | None) -> CpixRequest:
    speke_version = (speke_version_header or "").strip() or "1.0"
    if speke_version != "1.0" and speke_version not in CPIX_VERSION_OF:
        raise CpixError(400, "Unsupported SPEKE version")
    root = _parse(body)
    if root.tag != _q(CPIX, "CPIX"):
        raise CpixError(400, "The document is not a CPIX document (root cpix:CPIX in urn:dashif:org:cpix)")
    content_id = _content_id(root, speke_version)
    keys = _content_keys(root, speke_version)
    kids = {key.kid for key in keys}
    signaling = _signaling(root, kids)
    track_types = _usage_rules(root, kids, speke_version)
    if root.find(_q(CPIX, "DeliveryDataList")) is not None:
        raise CpixError(
            422, "Content key encryption (DeliveryDataList) is not supported: keys travel in clear over TLS"
        )
    return CpixRequest(speke_version, content_id, keys, signaling, track_types, root)


def _parse(body: bytes) -> Any:
    if not body:
        raise CpixError(400, "Empty body: a CPIX document is expected")
    if len(body) > MAX_CPIX_BYTES:
        raise CpixError(413, f"CPIX document over {MAX_CPIX_BYTES // 1024} KiB")
    depth = elements = 0
    root = None
    try:
        for event, element in iterparse(io.BytesIO(body), events=("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                continue
            root = element if root is None else root
            depth += 1
            elements += 1
            if depth > MAX_DEPTH or elements > MAX_ELEMENTS:
                raise CpixError(400, f"CPIX document nested over {MAX_DEPTH} deep or over {MAX_ELEMENTS} elements")
    except DefusedXmlException:
        raise CpixError(400, "XML with a DTD, entities or external references is refused") from None
    except ElementTree.ParseError:
        raise CpixError(400, "Malformed XML") from None
    return root


def _content_id(root: Any, speke_version: str) -> str:
    if speke_version == "1.0":
        content_id = root.get("id") or root.get("contentId")
    else:
        if root.get("version") is None:
            raise CpixError(422, "Missing CPIX@version")
        if root.get("version") != CPIX_VERSION_OF[speke_version]:
            raise CpixError(422, "Unsupported CPIX@version")
        content_id = root.get("contentId")
        if content_id is None:
            raise CpixError(422, "Missing CPIX@contentId")
    if not content_id or len(content_id) > 256 or not content_id.isprintable():
        # The token routes' contentId rule, so every title a packager names can be asked for by its id.
        raise CpixError(422, "The content id must be 1 to 256 printable characters")
    return str(content_id)


def _kid(value: str | None, where: str) -> str:
    """A KID attribute (UUID form) as 32 lower-case hex digits."""
    try:
        if value and len(value) == 36:
            return UUID(value).hex
    except ValueError:
        pass
    raise CpixError(422, f"{where} needs a kid in UUID form (8-4-4-4-12 hex digits)")


def _content_keys(root: Any, speke_version: str) -> list[RequestedKey]:
    elements = root.findall(f"{_q(CPIX, 'ContentKeyList')}/{_q(CPIX, 'ContentKey')}")
    if not elements:
        raise CpixError(422, "Missing ContentKeyList with at least one ContentKey")
    if len(elements) > MAX_KEYS:
        raise CpixError(422, f"More than {MAX_KEYS} content keys in one request")
    keys: list[RequestedKey] = []
    for element in elements:
        kid = _kid(element.get("kid"), "ContentKey")
        if any(key.kid == kid for key in keys):
            raise CpixError(422, f"ContentKey {UUID(kid)} is listed twice")
        scheme = element.get("commonEncryptionScheme")
        if scheme is None and speke_version != "1.0":
            raise CpixError(422, f"Missing ContentKey@commonEncryptionScheme for KID {UUID(kid)}")
        if scheme is not None and scheme not in SCHEMES:
            raise CpixError(
                422, f"ContentKey@commonEncryptionScheme of KID {UUID(kid)} must be cenc, cbc1, cens or cbcs"
            )
        if element.find(_q(CPIX, "Data")) is not None:
            raise CpixError(422, f"ContentKey {UUID(kid)} already carries key data: the key provider makes the keys")
        keys.append(RequestedKey(kid, scheme or "cenc", "explicitIV" in element.attrib, _iv(element, kid), element))
    if len({key.scheme for key in keys}) > 1:
        raise CpixError(422, "Non compliant ContentKey@commonEncryptionScheme combination")
    return keys


def _iv(element: Any, kid: str) -> bytes | None:
    text = element.get("explicitIV") or ""
    if not text:
        return None
    try:
        iv = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        iv = b""
    if len(iv) != IV_BYTES:
        raise CpixError(422, f"ContentKey@explicitIV of KID {UUID(kid)} must be base64 of 16 bytes")
    return iv


# Children of a DRMSystem a packager may ask to have filled, and what fills each.
Filler = Callable[[DrmSystem, KeyFacts, Any], str]


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode("utf-8") if isinstance(text, str) else text).decode("ascii")


SIGNALING_FILLERS: Mapping[str, Filler] = MappingProxyType(
    {
        _q(CPIX, "PSSH"): lambda system, facts, element: _b64(system.pssh(facts)),
        _q(CPIX, "ContentProtectionData"): lambda system, facts, element: _b64(system.content_protection_data(facts)),
        _q(CPIX, "HLSSignalingData"): lambda system, facts, element: _b64(
            system.hls_tag(facts, element.get("playlist") or "media")
        ),
        _q(CPIX, "URIExtXKey"): lambda system, facts, element: _b64(system.hls_uri(facts)),  # SPEKE v1
        _q(SPEKE, "KeyFormat"): lambda system, facts, element: _b64(system.key_format),  # SPEKE v1
        _q(SPEKE, "KeyFormatVersions"): lambda system, facts, element: _b64("1"),  # SPEKE v1
    }
)
_UNSUPPORTED_SIGNALING = {
    _q(CPIX, "SmoothStreamingProtectionHeaderData"): "Smooth Streaming (PlayReady) signaling",
    _q(SPEKE, "ProtectionHeader"): "Smooth Streaming (PlayReady) signaling",
    _q(CPIX, "HDSSignalingData"): "HDS signaling",
}


def _signaling(root: Any, kids: set[str]) -> list[RequestedSignaling]:
    elements = root.findall(f"{_q(CPIX, 'DRMSystemList')}/{_q(CPIX, 'DRMSystem')}")
    if not elements:
        raise CpixError(422, "Missing DRMSystemList with at least one DRMSystem")
    requested: list[RequestedSignaling] = []
    for element in elements:
        kid = _kid(element.get("kid"), "DRMSystem")
        if kid not in kids:
            raise CpixError(422, f"DRMSystem names KID {UUID(kid)}, which is not in the ContentKeyList")
        try:
            system_id = UUID(str(element.get("systemId")))
        except ValueError:
            raise CpixError(422, "DRMSystem needs a systemId in UUID form") from None
        system = _system(system_id)
        for child in element:
            _check_signaling_child(child, system)
        requested.append(RequestedSignaling(system, kid, element))
    return requested


def _system(system_id: UUID) -> DrmSystem:
    if system_id == PLAYREADY_SYSTEM:
        raise CpixError(422, f"DRM system PlayReady ({system_id}) is not supported: no PlayReady licenses here")
    system = DRM_SYSTEMS.get(system_id)
    if system is None:
        raise CpixError(422, f"DRM system {system_id} is not supported (Widevine, FairPlay and W3C Common are)")
    return system


def _check_signaling_child(child: Any, system: DrmSystem) -> None:
    if child.tag in _UNSUPPORTED_SIGNALING:
        raise CpixError(422, f"{_UNSUPPORTED_SIGNALING[child.tag]} is not supported for {system.name}")
    if child.tag not in SIGNALING_FILLERS:
        raise CpixError(422, f"DRMSystem child {_local(child.tag)} is not a signaling element this provider fills")
    playlist = child.get("playlist") or "media"
    if child.tag == _q(CPIX, "HLSSignalingData") and playlist not in ("media", "master"):
        raise CpixError(422, "HLSSignalingData@playlist must be media or master")


def _local(tag: str) -> str:
    return str(tag).rsplit("}", 1)[-1][:64]


def _usage_rules(root: Any, kids: set[str], speke_version: str) -> dict[str, str]:
    rule_list = root.find(_q(CPIX, "ContentKeyUsageRuleList"))
    if rule_list is None:
        if speke_version != "1.0":
            raise CpixError(422, "Missing ContentKeyUsageRuleList: SPEKE v2 names the track of every key")
        return {}
    track_types: dict[str, str] = {}
    for rule in rule_list.findall(_q(CPIX, "ContentKeyUsageRule")):
        kid = _kid(rule.get("kid"), "ContentKeyUsageRule")
        if kid not in kids:
            raise CpixError(422, f"ContentKeyUsageRule names KID {UUID(kid)}, which is not in the ContentKeyList")
        if kid in track_types:
            # One key under two rules (audio and video, say) is the sharing SPEKE v2 forbids outside ALL.
            raise CpixError(422, f"KID {UUID(kid)} has more than one ContentKeyUsageRule: each key has exactly one")
        track_type = rule.get("intendedTrackType") or ""
        if speke_version != "1.0" and not track_type:
            raise CpixError(422, f"ContentKeyUsageRule of KID {UUID(kid)} needs an intendedTrackType")
        audio = rule.find(_q(CPIX, "AudioFilter")) is not None
        video = rule.find(_q(CPIX, "VideoFilter")) is not None
        if audio and video and track_type != "ALL":
            raise CpixError(422, f"KID {UUID(kid)} would encrypt audio and video: only intendedTrackType ALL may")
        track_types[kid] = track_type
    missing = [kid for kid in kids if kid not in track_types]
    if missing and speke_version != "1.0":
        raise CpixError(422, f"ContentKey {UUID(sorted(missing)[0])} has no ContentKeyUsageRule")
    return track_types


# --- answering --------------------------------------------------------------------


def answer_cpix(request: CpixRequest, held: Mapping[str, HeldKey]) -> bytes:
    """The request document completed: every key's value (and IV where asked), every asked signaling."""
    fairplay_kids = {s.kid for s in request.signaling if s.system.system_id == FAIRPLAY_SYSTEM}
    scheme = request.keys[0].scheme  # one scheme per request: a mix was refused when it was read
    for key in request.keys:
        value = held[key.kid]
        # SPEKE v1 lets the provider add explicitIV; v2 fills it where the packager put it.
        if key.wants_iv or (request.speke_version == "1.0" and key.kid in fairplay_kids):
            key.element.set("explicitIV", _b64(value.iv))
        data = ElementTree.SubElement(key.element, _q(CPIX, "Data"))
        secret = ElementTree.SubElement(data, _q(PSKC, "Secret"))
        ElementTree.SubElement(secret, _q(PSKC, "PlainValue")).text = _b64(value.key)
    for asked in request.signaling:
        facts = KeyFacts(bytes.fromhex(asked.kid), request.content_id, scheme)
        for child in asked.element:
            child.text = SIGNALING_FILLERS[child.tag](asked.system, facts, child)
    body: bytes = ElementTree.tostring(request.root, encoding="utf-8", xml_declaration=True)
    return body
