"""The SPEKE key provider (docs/key-provider.md): CPIX in, held keys, CPIX out; moto DynamoDB."""

from __future__ import annotations

import base64
import json
import struct
import uuid
from typing import Any
from xml.etree import ElementTree

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from drmtoken.adapters.heldkeys import DynamoHeldKeys
from drmtoken.core.errors import DependencyError
from drmtoken.core.heldkeys import HeldKey
from drmtoken.core.pssh import FAIRPLAY_SYSTEM, PLAYREADY_SYSTEM, WIDEVINE_SYSTEM
from drmtoken.core.token import Keyring
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import speke_event
from tests.support.cpix import ALL_SYSTEMS, PRESETS, new_kids, speke_v1, speke_v2
from tests.support.fakes import FixedKeyring
from tests.support.lambdas import invoke

NS = {"cpix": "urn:dashif:org:cpix", "pskc": "urn:ietf:params:xml:ns:keyprov:pskc", "speke": "urn:aws:amazon:com:speke"}
SYSTEM_SETS = {
    "widevine": (WIDEVINE_SYSTEM,),
    "fairplay": (FAIRPLAY_SYSTEM,),
    "both": (WIDEVINE_SYSTEM, FAIRPLAY_SYSTEM),
}


@pytest.fixture
def customer(store: AdminStore) -> str:
    store.create_customer("acme", widevine=True, fairplay=True)
    return "acme"


def provide(customer_id: str, body: bytes, version: str | None = "2.0") -> dict[str, Any]:
    return invoke(speke_event(customer_id, body, version))


def keys_of(answer: dict[str, Any]) -> dict[str, bytes]:
    """KID (hex) -> content key of a CPIX answer."""
    root = ElementTree.fromstring(answer["body"].encode())
    return {
        uuid.UUID(key.get("kid")).hex: base64.b64decode(key.findtext("cpix:Data/pskc:Secret/pskc:PlainValue", "", NS))
        for key in root.iterfind("cpix:ContentKeyList/cpix:ContentKey", NS)
    }


def held_items(dynamodb: Any, env: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=env["HELD_KEYS_TABLE"])["Items"]
    return items


@pytest.mark.parametrize("systems", sorted(SYSTEM_SETS))
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_gets_every_key_and_signaling_and_the_same_keys_again(
    preset: str, systems: str, customer: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    tracks = dict(zip(new_kids(len(PRESETS[preset])), PRESETS[preset], strict=True))
    body = speke_v2("title-1", tracks, SYSTEM_SETS[systems], scheme="cbcs")
    first = provide(customer, body)
    assert first["statusCode"] == 200, first["body"]
    assert first["headers"]["Content-Type"] == "application/xml"
    assert first["headers"]["X-Speke-Version"] == "2.0" and first["headers"]["X-Speke-User-Agent"]
    keys = keys_of(first)
    assert set(keys) == {uuid.UUID(kid).hex for kid in tracks} and all(len(k) == 16 for k in keys.values())
    assert len(set(keys.values())) == len(keys)  # one key per track
    root = ElementTree.fromstring(first["body"].encode())
    for system in root.iterfind("cpix:DRMSystemList/cpix:DRMSystem", NS):
        assert len(system) > 0 and all(child.text for child in system)  # every asked element filled
    assert keys_of(provide(customer, body)) == keys
    assert len(held_items(dynamodb, service_env)) == len(tracks)


def test_a_repeat_answers_the_same_keys_and_ivs_and_stores_nothing_new(
    customer: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    tracks = dict(zip(new_kids(2), ("VIDEO", "AUDIO"), strict=True))
    body = speke_v2("title-2", tracks, ALL_SYSTEMS, explicit_iv=True)
    first, second = provide(customer, body), provide(customer, body)
    assert first["body"] == second["body"]  # keys, IVs and signaling alike
    assert len(held_items(dynamodb, service_env)) == 2


def test_held_keys_are_sealed_bound_to_customer_and_kid(
    customer: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    answer = provide(customer, speke_v2("title-3", dict(zip(new_kids(2), ("VIDEO", "AUDIO"), strict=True))))
    items = held_items(dynamodb, service_env)
    for key in keys_of(answer).values():  # no spelling of the key anywhere in the table
        spellings = {key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)}
        for item in items:
            for value in item.values():
                raw = value.get("B") or str(value.get("S") or value.get("N")).encode()
                assert not any(s in bytes(raw) for s in spellings)
    # The item copied under another customer, or to another KID, does not open there.
    sealing = FixedKeyring(Keyring.from_json(service_env["KEY_SEALING_KEYRING"]))
    held = DynamoHeldKeys(dynamodb, service_env["HELD_KEYS_TABLE"], sealing)
    item = items[0]
    kid = item["kid"]["S"]
    assert held.by_kid("acme", kid) is not None
    dynamodb.put_item(TableName=service_env["HELD_KEYS_TABLE"], Item={**item, "customerId": {"S": "mallory"}})
    dynamodb.put_item(TableName=service_env["HELD_KEYS_TABLE"], Item={**item, "kid": {"S": "ab" * 16}})
    for customer_id, other_kid in (("mallory", kid), ("acme", "ab" * 16)):
        with pytest.raises(DependencyError, match="does not open"):
            held.by_kid(customer_id, other_kid)


def test_another_customers_kid_is_unrelated(store: AdminStore, customer: str) -> None:
    store.create_customer("other", widevine=True)
    kid = new_kids(1)[0]
    mine = keys_of(provide(customer, speke_v2("title", {kid: "VIDEO"})))
    theirs = keys_of(provide("other", speke_v2("title", {kid: "VIDEO"})))
    assert mine.keys() == theirs.keys() and mine != theirs
    assert keys_of(provide(customer, speke_v2("title", {kid: "VIDEO"}))) == mine


def test_a_rotated_sealing_keyring_still_opens_held_keys(
    customer: str, monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str], dynamodb: Any
) -> None:
    from drmtoken import runtime

    old_kid, new_kid = new_kids(2)
    before = keys_of(provide(customer, speke_v2("title", {old_kid: "VIDEO"})))
    ring = json.loads(service_env["KEY_SEALING_KEYRING"])
    ring["keys"]["s2"] = Keyring.new_key_material()
    ring["active"] = "s2"
    monkeypatch.setenv("KEY_SEALING_KEYRING", json.dumps(ring))
    runtime.reset()
    after = keys_of(provide(customer, speke_v2("title", {old_kid: "VIDEO", new_kid: "AUDIO"})))
    assert after[uuid.UUID(old_kid).hex] == before[uuid.UUID(old_kid).hex]
    sealed_with = {i["kid"]["S"]: bytes(i["sealedKey"]["B"])[2:4] for i in held_items(dynamodb, service_env)}
    assert sealed_with == {uuid.UUID(old_kid).hex: b"s1", uuid.UUID(new_kid).hex: b"s2"}


def test_a_race_for_one_kid_answers_the_winner(customer: str, dynamodb: Any, service_env: dict[str, str]) -> None:
    sealing = FixedKeyring(Keyring.from_json(service_env["KEY_SEALING_KEYRING"]))
    held = DynamoHeldKeys(dynamodb, service_env["HELD_KEYS_TABLE"], sealing)
    first = HeldKey.new("cd" * 16, "title", "VIDEO", None, 1)
    second = HeldKey.new("cd" * 16, "title", "VIDEO", None, 2)
    assert held.put_new("acme", first) == first
    assert held.put_new("acme", second) == first  # the loser gets the winner's key


def test_speke_v1_answers_as_v1_clients_expect(customer: str) -> None:
    kid = new_kids(1)[0]
    answer = provide(customer, speke_v1("channel-1", kid), version=None)
    assert answer["statusCode"] == 200, answer["body"]
    assert "X-Speke-Version" not in answer["headers"] and answer["headers"]["Speke-User-Agent"]
    root = ElementTree.fromstring(answer["body"].encode())
    (key,) = root.iterfind("cpix:ContentKeyList/cpix:ContentKey", NS)
    assert len(base64.b64decode(key.get("explicitIV") or "")) == 16  # v1: the IV FairPlay playlists use
    fairplay, widevine = (
        root.find(f"cpix:DRMSystemList/cpix:DRMSystem[@systemId='{system}']", NS)
        for system in (FAIRPLAY_SYSTEM, WIDEVINE_SYSTEM)
    )
    assert fairplay is not None and widevine is not None

    def text(system: ElementTree.Element, path: str) -> str:
        return base64.b64decode(system.findtext(path, "", NS)).decode()

    assert text(fairplay, "cpix:URIExtXKey") == f"skd://{uuid.UUID(kid).hex}"
    assert text(fairplay, "speke:KeyFormat") == "com.apple.streamingkeydelivery"
    assert text(fairplay, "speke:KeyFormatVersions") == "1"
    assert text(widevine, "cpix:URIExtXKey").startswith("data:text/plain;base64,AAAA")
    assert text(widevine, "speke:KeyFormat") == f"urn:uuid:{WIDEVINE_SYSTEM}"
    assert base64.b64decode(widevine.findtext("cpix:PSSH", "", NS))[4:8] == b"pssh"


def widevine_pssh_data_type() -> Any:
    """WidevinePsshData as the protobuf library reads it (field numbers of Widevine's published proto)."""
    file = descriptor_pb2.FileDescriptorProto(name="wv_test.proto", package="wvtest")
    message = file.message_type.add(name="WidevinePsshData")
    label, optional = descriptor_pb2.FieldDescriptorProto, descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    message.field.add(name="key_id", number=2, type=label.TYPE_BYTES, label=label.LABEL_REPEATED)
    message.field.add(name="content_id", number=4, type=label.TYPE_BYTES, label=optional)
    message.field.add(name="protection_scheme", number=9, type=label.TYPE_UINT32, label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("wvtest.WidevinePsshData"))


def read_pssh(box: bytes) -> tuple[int, uuid.UUID, list[bytes], bytes]:
    size, kind, version = struct.unpack(">I4sB", box[:9])
    assert size == len(box) and kind == b"pssh"
    system, offset, kids = uuid.UUID(bytes=box[12:28]), 28, []
    if version == 1:
        (count,) = struct.unpack(">I", box[28:32])
        kids = [box[32 + 16 * i : 48 + 16 * i] for i in range(count)]
        offset = 32 + 16 * count
    (data_size,) = struct.unpack(">I", box[offset : offset + 4])
    assert offset + 4 + data_size == len(box)
    return version, system, kids, box[offset + 4 :]


def test_pssh_boxes_read_back_with_independent_readers(customer: str) -> None:
    """The Widevine data through the protobuf library; the box layout per ISO/IEC 23001-7."""
    video, audio = new_kids(2)
    answer = provide(customer, speke_v2("title-\u00e9", {video: "HD", audio: "AUDIO"}, ALL_SYSTEMS, scheme="cbcs"))
    root = ElementTree.fromstring(answer["body"].encode())
    data_type = widevine_pssh_data_type()
    for system in root.iterfind("cpix:DRMSystemList/cpix:DRMSystem", NS):
        kid, system_id = uuid.UUID(system.get("kid")).bytes, uuid.UUID(system.get("systemId"))
        for playlist, tag in (("media", "#EXT-X-KEY:"), ("master", "#EXT-X-SESSION-KEY:")):
            line = base64.b64decode(system.findtext(f"cpix:HLSSignalingData[@playlist='{playlist}']", "", NS)).decode()
            assert line.startswith(tag + "METHOD=SAMPLE-AES,")
        if system_id == FAIRPLAY_SYSTEM:  # HLS only: the skd:// URI names the KID for the KSM
            assert f'URI="skd://{kid.hex()}"' in line and 'KEYFORMAT="com.apple.streamingkeydelivery"' in line
            continue
        version, pssh_system, kids, data = read_pssh(base64.b64decode(system.findtext("cpix:PSSH", "", NS)))
        assert pssh_system == system_id
        assert f'URI="data:text/plain;base64,{system.findtext("cpix:PSSH", "", NS)}"' in line
        if system_id == WIDEVINE_SYSTEM:
            parsed = data_type.FromString(data)
            assert version == 0 and list(parsed.key_id) == [kid]
            assert parsed.content_id.decode() == "title-\u00e9" and parsed.protection_scheme == 0x63626373  # cbcs
        else:
            assert version == 1 and kids == [kid] and data == b""
        protection = base64.b64decode(system.findtext("cpix:ContentProtectionData", "", NS)).decode()
        pssh = ElementTree.fromstring(protection)  # standalone: its namespace declared
        assert pssh.tag == "{urn:mpeg:cenc:2013}pssh" and pssh.text == system.findtext("cpix:PSSH", "", NS)


BAD_REQUESTS: dict[str, tuple[bytes | str, str | None, int, str]] = {
    # name: (body, X-Speke-Version, status, a piece of the message)
    "empty": (b"", "2.0", 400, "Empty body"),
    "not xml": (b"<cpix:CPIX", "2.0", 400, "Malformed XML"),
    "a DTD": (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "2.0", 400, "DTD"),
    "an external entity": (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "2.0", 400, "DTD"),
    "too deep": (b"<a>" * 40 + b"</a>" * 40, "2.0", 400, "nested"),
    "not cpix": (b"<root/>", "2.0", 400, "not a CPIX document"),
    "unknown SPEKE version": ("v2:T:VIDEO", "3.0", 400, "Unsupported SPEKE version"),
    "v2 without CPIX@version": ("v2:T:VIDEO|version=", "2.0", 422, "Missing CPIX@version"),
    "v2 with CPIX 2.4": ("v2:T:VIDEO|version=2.4", "2.0", 422, "Unsupported CPIX@version"),
    "no contentId": ("v2:|VIDEO", "2.0", 422, "Missing CPIX@contentId"),
    "no scheme": ("v2:T:VIDEO|scheme=", "2.0", 422, "Missing ContentKey@commonEncryptionScheme"),
    "unknown scheme": ("v2:T:VIDEO|scheme=aes1", "2.0", 422, "must be cenc, cbc1, cens or cbcs"),
    "PlayReady": ("v2:T:VIDEO|system=" + str(PLAYREADY_SYSTEM), "2.0", 422, "PlayReady"),
    "unknown system": ("v2:T:VIDEO|system=81376844-f976-481e-a84e-cc25d39b0b33", "2.0", 422, "81376844"),
    "key shared by audio and video": ("shared", "2.0", 422, "more than one ContentKeyUsageRule"),
    "audio and video filters outside ALL": ("both-filters", "2.0", 422, "only intendedTrackType ALL"),
    "no usage rules in v2": ("no-rules", "2.0", 422, "Missing ContentKeyUsageRuleList"),
    "key data sent in": ("with-data", "2.0", 422, "already carries key data"),
    "smooth streaming asked": ("smooth", "2.0", 422, "Smooth Streaming"),
    "content key encryption": ("delivery", "2.0", 422, "DeliveryDataList"),
    "bad explicitIV": ("bad-iv", "2.0", 422, "explicitIV"),
    "bad kid": ("bad-kid", "2.0", 422, "UUID form"),
    "mixed schemes": ("mixed", "2.0", 422, "Non compliant ContentKey@commonEncryptionScheme combination"),
}


def bad_body(recipe: bytes | str) -> bytes:
    """A request for each refusal: most start from a good v2 request and change one thing."""
    if isinstance(recipe, bytes):
        return recipe
    video, audio = new_kids(2)
    good = speke_v2("T", {video: "VIDEO"}).decode()
    if recipe.startswith("v2:"):
        _, _, change = recipe.partition("|")
        name, _, value = change.partition("=")
        if recipe.startswith("v2:|"):
            return good.replace('contentId="T" ', "").encode()
        replacements = {
            "version": ('version="2.3"', f'version="{value}"' if value else ""),
            "scheme": ('commonEncryptionScheme="cenc"', f'commonEncryptionScheme="{value}"' if value else ""),
            "system": (str(WIDEVINE_SYSTEM), value),
        }
        old, new = replacements.get(name, ("", ""))
        return good.replace(old, new).encode()
    two = speke_v2("T", {video: "VIDEO", audio: "AUDIO"}).decode()
    edits = {
        "shared": (two, f'kid="{audio}" intendedTrackType="AUDIO"', f'kid="{video}" intendedTrackType="AUDIO"'),
        "both-filters": (good, "<cpix:VideoFilter/>", "<cpix:VideoFilter/><cpix:AudioFilter/>"),
        "no-rules": (good, good[good.index("<cpix:ContentKeyUsageRuleList>") : good.index("</cpix:CPIX>")], ""),
        "with-data": (
            good,
            'commonEncryptionScheme="cenc"/>',
            'commonEncryptionScheme="cenc"><cpix:Data/></cpix:ContentKey>',
        ),
        "smooth": (good, "<cpix:PSSH/>", "<cpix:PSSH/><cpix:SmoothStreamingProtectionHeaderData/>"),
        "delivery": (good, "<cpix:ContentKeyList>", "<cpix:DeliveryDataList/><cpix:ContentKeyList>"),
        "bad-iv": (good, 'commonEncryptionScheme="cenc"', 'commonEncryptionScheme="cenc" explicitIV="AAAA"'),
        "bad-kid": (good, f'<cpix:ContentKey kid="{video}"', '<cpix:ContentKey kid="not-a-uuid"'),
        "mixed": (two, f'kid="{audio}" commonEncryptionScheme="cenc"', f'kid="{audio}" commonEncryptionScheme="cbcs"'),
    }
    text, old, new = edits[recipe]
    assert old in text, recipe
    return text.replace(old, new).encode()


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_requests_get_their_reason_and_store_nothing(
    name: str, customer: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    recipe, version, status, reason = BAD_REQUESTS[name]
    answer = provide(customer, bad_body(recipe), version)
    assert answer["statusCode"] == status, answer["body"]
    assert reason in answer["body"] and answer["headers"]["Content-Type"].startswith("text/plain")
    assert "passwd" not in answer["body"] and "<" not in answer["body"]  # our words, not the request's text
    assert held_items(dynamodb, service_env) == []


def test_a_body_over_the_bound_is_413(customer: str, dynamodb: Any, service_env: dict[str, str]) -> None:
    body = speke_v2("T", {new_kids(1)[0]: "VIDEO"}).replace(
        b"<cpix:ContentKeyList>", b" " * 300_000 + b"<cpix:ContentKeyList>"
    )
    assert provide(customer, body)["statusCode"] == 413
    assert held_items(dynamodb, service_env) == []


def test_unknown_disabled_or_malformed_customers_store_nothing(
    store: AdminStore, customer: str, dynamodb: Any, service_env: dict[str, str]
) -> None:
    body = speke_v2("T", {new_kids(1)[0]: "VIDEO"})
    assert (provide("nobody", body)["statusCode"], provide("no body!", body)["statusCode"]) == (404, 404)
    store.set_status(customer, active=False)
    disabled = provide(customer, body)
    assert disabled["statusCode"] == 403 and "disabled" in disabled["body"]
    assert held_items(dynamodb, service_env) == []


def test_only_post_is_answered(customer: str) -> None:
    event = speke_event(customer, b"")
    event["httpMethod"] = "GET"
    answer = invoke(event)
    assert answer["statusCode"] == 405 and answer["headers"]["Allow"] == "POST"
