"""No content key, kek, ek, authenticator secret or token in any log line, metric or error body."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from drmtoken_cli.admin_store import AdminStore
from drmtoken_cli.devserver.demo import DEMO_CUSTOMER, DEMO_SECRET
from tests.support.apigw import rest_event
from tests.support.error_cases import CASES, run
from tests.support.lambdas import WV_PATH, invoke
from tests.support.requests import CONTENT_KEY, IV, RFC3394_EK, RFC3394_KEK, RFC3394_KEY, widevine

EVENTS = Path(__file__).resolve().parents[2] / "events"
CLEARKEY_REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1


def everything_logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """stdout (EMF lines), stderr and every log record with all its fields, as one text to search."""
    out = capsys.readouterr()
    records = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    return out.out + out.err + records


def secrets_in(text: str, secrets: set[str]) -> list[str]:
    lowered = text.lower()
    return [secret for secret in secrets if secret.lower() in lowered]


def test_every_event_and_error_case_keeps_secrets_out_of_logs_metrics_and_bodies(
    authenticator: str,
    store: AdminStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store.create_customer(DEMO_CUSTOMER, widevine=True, fairplay=True, limits={})
    store.add_authenticator(DEMO_CUSTOMER, "test", secret=DEMO_SECRET)
    secrets = {CONTENT_KEY, RFC3394_KEK, RFC3394_EK, RFC3394_KEY, DEMO_SECRET, authenticator.split(",")[1], "ff" * 16}
    bodies: list[str] = []
    tokens: set[str] = set()

    def record(response: dict[str, Any]) -> None:
        body = response["body"] or ""
        if response["statusCode"] == 200 and "ExpressPlayToken=" in body:
            tokens.add(body.split("ExpressPlayToken=", 1)[1])
        elif '"keys"' not in body:  # a Clear Key license holds the key by design; every other body must not
            bodies.append(body)

    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    for path in sorted(EVENTS.glob("*.json")):
        record(invoke(json.loads(path.read_text())))
    # The rights side: a license, the refusals after the token opens, the records they leave.
    rights_token = invoke(rest_event("GET", WV_PATH, widevine(authenticator, maxUses="1", cookie="c")))["body"]
    rights_token = rights_token.split("=", 1)[1]
    tokens.add(rights_token)
    for body, token in (
        (CLEARKEY_REQUEST, rights_token),
        (CLEARKEY_REQUEST, rights_token),  # use limit reached
        (b"", rights_token),
        (b"{}", rights_token),
        (CLEARKEY_REQUEST, rights_token[:-4] + "AAAA"),
    ):
        event = rest_event("POST", f"/hms/ck/rights/?ExpressPlayToken={token}")
        event.update(body=base64.b64encode(body).decode() if body else None, isBase64Encoded=bool(body))
        record(invoke(event))
    record(invoke(rest_event("GET", "/cmiapi/getrecord/", [("customerAuthenticator", authenticator)])))
    # Cases that change the account (disable, limit 0, ...) go last, so the others still reach their own code.
    for case in sorted(CASES.values(), key=lambda c: c.setup is not None):
        for error_format in ("html", "json"):
            record(run(case, error_format, authenticator, store, monkeypatch))
    logged = everything_logged(capsys, caplog)

    assert tokens and bodies and "TokensIssued" in logged and "TokensRejected" in logged  # something was captured
    assert "LicensesIssued" in logged and "LicensesRefused" in logged and '"records":[{' in "\n".join(bodies)
    every_secret = secrets | tokens
    assert secrets_in(logged, every_secret) == []
    assert secrets_in("\n".join(bodies), every_secret) == []


def test_reprs_hide_secrets(authenticator: str) -> None:
    from drmtoken.core.keys import KeySource
    from drmtoken.core.params import parse_authenticator

    parsed = parse_authenticator(authenticator)
    assert authenticator.split(",")[1] not in repr(parsed)
    assert CONTENT_KEY not in repr(KeySource(content_key=bytes.fromhex(CONTENT_KEY)))


def test_widevine_and_fairplay_redemptions_keep_secrets_out_of_logs_records_and_bodies(
    authenticator: str,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from drmtoken_cli.devserver.ksm_standin import KsmStandIn
    from drmtoken_cli.devserver.widevine_standin import TEST_KEY, WidevineStandIn
    from tests.support.requests import fairplay

    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    tokens: set[str] = set()
    with WidevineStandIn() as widevine_service, KsmStandIn() as ksm:
        monkeypatch.setenv("WIDEVINE_PROVIDER", widevine_service.provider_json())
        monkeypatch.setenv("FAIRPLAY_KSM", ksm.url)
        for path, build, bodies_to_send in (
            (
                WV_PATH,
                widevine,
                [
                    b"\x08\x01\x12challenge",
                    b"\x08\x04",
                    b"STATUS:DRM_DEVICE_CERTIFICATE_REVOKED",
                    b"HTTP:500",
                    f"STATUS:KEY_{CONTENT_KEY.upper()}".encode(),  # a status quoting the key
                ],
            ),
            ("/hms/fp/token", fairplay, [b"spc", b"ERROR:no such asset", b"GARBAGE", b"KEYLEAK", b"DEEP"]),
        ):
            token = invoke(rest_event("GET", path, build(authenticator, maxUses="2")))["body"].split("=", 1)[1]
            tokens.add(token)
            rights = path.replace("/token", "/rights/")
            for body in bodies_to_send:
                event = rest_event(
                    "POST", f"{rights}?ExpressPlayToken={token}", headers={"Content-Type": "application/octet-stream"}
                )
                event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
                response = invoke(event)
                if response["statusCode"] != 200:
                    bodies.append(response["body"])
    logged = everything_logged(capsys, caplog)
    stored = json.dumps(dynamodb.scan(TableName="drm-token-records")["Items"])
    raw_key, raw_iv = bytes.fromhex(CONTENT_KEY), bytes.fromhex(IV)
    spellings = {base64.b64encode(raw_key).decode(), base64.urlsafe_b64encode(raw_key).decode().rstrip("=")}
    spellings |= {IV, base64.b64encode(raw_iv).decode(), base64.urlsafe_b64encode(raw_iv).decode().rstrip("=")}
    secrets = {CONTENT_KEY, TEST_KEY.hex(), "c2VjcmV0", *spellings, *tokens}
    assert "LicensesIssued" in logged and "LicensesRefused" in logged and len(bodies) >= 7
    assert "[redacted]" in logged  # the KSM's and the service's words reached the operator, cleared
    assert secrets_in(logged, secrets) == []
    assert secrets_in(stored, secrets) == [] and "session_state" not in stored
    assert secrets_in("\n".join(bodies), secrets) == []


def test_the_key_provider_keeps_held_keys_out_of_logs_metrics_records_and_errors(
    store: AdminStore,
    dynamodb: Any,
    service_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Held keys leave only in the SPEKE answer itself: never in a line, an error body or the table."""
    import uuid
    from xml.etree import ElementTree

    from tests.support.apigw import speke_event
    from tests.support.cpix import ALL_SYSTEMS, new_kids, speke_v2

    caplog.set_level(logging.DEBUG)
    store.create_customer("acme", widevine=True, fairplay=True)
    kids = new_kids(2)
    answer = invoke(
        speke_event("acme", speke_v2("title", dict(zip(kids, ("VIDEO", "AUDIO"), strict=True)), ALL_SYSTEMS))
    )
    root = ElementTree.fromstring(answer["body"].encode())
    keys = [base64.b64decode(v.text or "") for v in root.iter("{urn:ietf:params:xml:ns:keyprov:pskc}PlainValue")]
    assert len(keys) == 2
    # Refusals that name the request's own KIDs, a dependency failure (an unusable sealing keyring), a 404.
    errors = [
        invoke(
            speke_event("acme", speke_v2("title", {kids[0]: "VIDEO", kids[1]: "VIDEO"}).replace(b"cenc", b"cbcs", 1))
        ),
        invoke(speke_event("nobody", speke_v2("title", {kids[0]: "VIDEO"}))),
    ]
    service_env_keyring = service_env["KEY_SEALING_KEYRING"]
    from drmtoken import runtime

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEY_SEALING_KEYRING", service_env_keyring.replace('"active": "s1"', '"active": "gone"'))
        runtime.reset()
        errors.append(invoke(speke_event("acme", speke_v2("title", {kids[0]: "VIDEO"}))))
    runtime.reset()
    assert [e["statusCode"] for e in errors] == [422, 404, 503]
    sealing_material = json.loads(service_env_keyring)["keys"]["s1"]
    spellings = {s for key in keys for s in (key.hex(), base64.b64encode(key).decode(), str(uuid.UUID(bytes=key)))}
    spellings.add(sealing_material)
    text = everything_logged(capsys, caplog) + "".join(e["body"] for e in errors)
    table = json.dumps(dynamodb.scan(TableName=service_env["HELD_KEYS_TABLE"])["Items"], default=str)
    assert secrets_in(text + table, spellings) == []
