"""The error cases of the token routes, one per code path, shared by the error-code and no-secrets tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from drmtoken_cli.admin_store import AdminStore, CustomerExists
from tests.support.apigw import Pairs, rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import REMOVE, RFC3394_EK, RFC3394_KEK, fairplay, widevine

WRONG_SECRET = "f" * 32
OTHER_KEK = "ff" * 16


@dataclass
class Case:
    code: int
    path: str
    params: Callable[[str], Pairs]
    method: str = "GET"
    setup: Callable[[AdminStore, pytest.MonkeyPatch], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def wv(**changes: object) -> Callable[[str], Pairs]:
    return lambda auth: widevine(auth, **changes)


def fp(**changes: object) -> Callable[[str], Pairs]:
    return lambda auth: fairplay(auth, **changes)


def disable(store: AdminStore, _: pytest.MonkeyPatch) -> None:
    store.set_status("acme", active=False)


def no_allowance(store: AdminStore, _: pytest.MonkeyPatch) -> None:
    store.set_limit("acme", "test", 0)


def not_entitled(drm: str) -> Callable[[AdminStore, pytest.MonkeyPatch], None]:
    from drmtoken.core.drm import Drm

    return lambda store, _: store.set_entitlement("acme", Drm(drm), False)


def switched_off(variable: str) -> Callable[[AdminStore, pytest.MonkeyPatch], None]:
    return lambda _, monkeypatch: monkeypatch.setenv(variable, "false")


def prod_only(store: AdminStore, _: pytest.MonkeyPatch) -> None:
    with contextlib.suppress(CustomerExists):
        store.create_customer("prodco", widevine=True, fairplay=True, limits={})
    store.add_authenticator("prodco", "prod", secret="a" * 32)


def stored_key(store: AdminStore, _: pytest.MonkeyPatch) -> None:
    store.put_key("acme", "80ea8bc8a58f990ad1f76bc665b30bfa", bytes.fromhex(RFC3394_EK))


CASES: dict[str, Case] = {
    # framing
    "too many parameters": Case(-1002, WV_PATH, lambda a: widevine(a) + [(f"x{i}", "1") for i in range(60)]),
    "value over 4 KiB": Case(-1002, WV_PATH, wv(contentId="a" * 4097)),
    "value over 4 KiB in UTF-8": Case(-1002, WV_PATH, wv(contentId="\u00e9" * 2049)),
    "method not allowed": Case(-1001, WV_PATH, wv(), method="PUT"),
    "fp method not allowed": Case(-1001, FP_PATH, fp(), method="DELETE"),
    # authenticator
    "missing authenticator": Case(-2017, WV_PATH, wv(customerAuthenticator=REMOVE)),
    "empty authenticator": Case(-2017, FP_PATH, fp(customerAuthenticator="")),
    "malformed authenticator": Case(-2018, WV_PATH, wv(customerAuthenticator="acme")),
    "short secret": Case(-2018, WV_PATH, wv(customerAuthenticator="acme,abc")),
    "bad customer id": Case(-2018, FP_PATH, fp(customerAuthenticator="a/b," + WRONG_SECRET)),
    "wrong secret": Case(-2018, WV_PATH, wv(customerAuthenticator="acme," + WRONG_SECRET)),
    "unknown customer": Case(-2018, FP_PATH, fp(customerAuthenticator="nobody," + WRONG_SECRET)),
    "prod authenticator on test": Case(-2018, WV_PATH, wv(customerAuthenticator="prodco," + "a" * 32), setup=prod_only),
    "repeated authenticator": Case(-2018, WV_PATH, lambda a: widevine(a, customerAuthenticator=[a, a])),
    # account
    "disabled": Case(-2031, WV_PATH, wv(), setup=disable),
    "fp disabled": Case(-2031, FP_PATH, fp(), setup=disable),
    "allowance used up": Case(-2019, WV_PATH, wv(), setup=no_allowance),
    "fp allowance used up": Case(-2019, FP_PATH, fp(), setup=no_allowance),
    "not entitled to widevine": Case(-7011, WV_PATH, wv(), setup=not_entitled("wv")),
    "widevine switched off": Case(-7011, WV_PATH, wv(), setup=switched_off("WIDEVINE_ENABLED")),
    "not entitled to fairplay": Case(-6006, FP_PATH, fp(), setup=not_entitled("fp")),
    "fairplay switched off": Case(-6009, FP_PATH, fp(), setup=switched_off("FAIRPLAY_ENABLED")),
    # kid
    "missing kid": Case(-4018, WV_PATH, wv(kid=REMOVE)),
    "short hex kid": Case(-4020, WV_PATH, wv(kid="abcd")),
    "long hex kid": Case(-4020, FP_PATH, fp(kid="ab" * 17)),
    "empty ^kid": Case(-4021, WV_PATH, wv(kid="^")),
    "long ^kid": Case(-4021, WV_PATH, wv(kid="^" + "a" * 65)),
    "non-hex kid": Case(-4022, WV_PATH, wv(kid="zz" * 16)),
    "repeated kid": Case(-4022, WV_PATH, wv(kid=["^a", "^b"])),
    # content key
    "malformed contentKey": Case(-2027, WV_PATH, wv(contentKey="xyz")),
    "short contentKey": Case(-2027, FP_PATH, fp(contentKey="00" * 15)),
    "no key and no held key for kid": Case(-4019, WV_PATH, wv(contentKey=REMOVE)),
    "no key and no held key for contentId": Case(-4019, WV_PATH, wv(contentKey=REMOVE, kid=REMOVE, contentId="t1")),
    "no key, kid or contentId": Case(-4018, WV_PATH, wv(contentKey=REMOVE, kid=REMOVE)),
    "fp no held key for contentId": Case(-4019, FP_PATH, fp(contentKey=REMOVE, contentId="t1")),
    "invalid trackPolicy": Case(-7012, WV_PATH, wv(trackPolicy="VIDEO,1,0")),
    "trackPolicy level out of range": Case(-7012, WV_PATH, wv(trackPolicy="HD,6,0")),
    "trackPolicy twice for one track": Case(-7012, WV_PATH, wv(trackPolicy=["HD,1,0", "HD,2,1"])),
    "fp missing contentKey": Case(-2005, FP_PATH, fp(contentKey=REMOVE)),
    "contentKey with kek": Case(-2005, WV_PATH, wv(kek=RFC3394_KEK)),
    "fp kek alone": Case(-2005, FP_PATH, fp(contentKey=REMOVE, kek=RFC3394_KEK)),
    "malformed kek": Case(-4024, WV_PATH, wv(contentKey=REMOVE, kek="123", ek=RFC3394_EK)),
    "ek without kek": Case(-4024, WV_PATH, wv(contentKey=REMOVE, ek=RFC3394_EK)),
    "ek without kek or key": Case(-4024, FP_PATH, fp(contentKey=REMOVE, ek=RFC3394_EK)),
    "malformed ek": Case(-4024, WV_PATH, wv(contentKey=REMOVE, kek=RFC3394_KEK, ek="1234")),
    "ek fails integrity": Case(-4024, WV_PATH, wv(contentKey=REMOVE, kek=OTHER_KEK, ek=RFC3394_EK)),
    "fp kek kid ek ambiguous": Case(-4024, FP_PATH, fp(contentKey=REMOVE, kek=RFC3394_KEK, ek=RFC3394_EK, kid="^kid1")),
    "no stored key": Case(-4019, WV_PATH, wv(contentKey=REMOVE, kek=RFC3394_KEK)),
    "stored key, wrong kek": Case(-4019, WV_PATH, wv(contentKey=REMOVE, kek=OTHER_KEK), setup=stored_key),
    "fp no stored key": Case(-4019, FP_PATH, fp(contentKey=REMOVE, kek=RFC3394_KEK, kid="^kid1")),
    # token restrictions
    "generalFlags": Case(-5003, WV_PATH, wv(generalFlags="0001")),
    "fp generalFlags": Case(-5003, FP_PATH, fp(generalFlags="00")),
    "expiration not a time": Case(-2002, WV_PATH, wv(expirationTime="tomorrow")),
    "expiration +0": Case(-2002, WV_PATH, wv(expirationTime="+0")),
    "expiration past": Case(-2002, FP_PATH, fp(expirationTime="2006-04-14T12:01:10Z")),
    "expiration beyond 30 days": Case(-2002, WV_PATH, wv(expirationTime=f"+{30 * 86400 + 1}")),
    "expiration no Z": Case(-2002, WV_PATH, wv(expirationTime="2099-04-14T12:01:10+01:00")),
    "cookie too long": Case(-2033, WV_PATH, wv(cookie="c" * 33)),
    "cookie not ASCII": Case(-2033, FP_PATH, fp(cookie="caf\u00e9")),
    # Widevine policy
    "contentId too long": Case(-1100, WV_PATH, wv(contentId="c" * 257)),
    "contentId control char": Case(-1100, WV_PATH, wv(contentId="a\x07b")),
    "missing securityLevel": Case(-7003, WV_PATH, wv(securityLevel=REMOVE)),
    "securityLevel 6": Case(-7004, WV_PATH, wv(securityLevel="6")),
    "securityLevel word": Case(-7004, WV_PATH, wv(securityLevel="high")),
    "missing hdcpOutputControl": Case(-7006, WV_PATH, wv(hdcpOutputControl=REMOVE)),
    "hdcpOutputControl word": Case(-2008, WV_PATH, wv(hdcpOutputControl="v2")),
    "hdcpOutputControl 3": Case(-2034, WV_PATH, wv(hdcpOutputControl="3")),
    "hdcpOutputControl -1": Case(-2034, WV_PATH, wv(hdcpOutputControl="-1")),
    "licenseDuration negative": Case(-7007, WV_PATH, wv(licenseDuration="-1")),
    "licenseDuration too large": Case(-7007, WV_PATH, wv(licenseDuration=str(2**31))),
    "wvExtension type": Case(-2036, WV_PATH, wv(wvExtension="abc,AAAA")),
    "wvExtension payload": Case(-2037, WV_PATH, wv(wvExtension="abcd,AAA")),
    "wvExtension payload too big": Case(-2037, WV_PATH, wv(wvExtension="abcd," + "A" * 1368)),
    "wvExtension no comma": Case(-7009, WV_PATH, wv(wvExtension="abcd")),
    "seventeen wvExtensions": Case(-7009, WV_PATH, wv(wvExtension=["abcd,AAAA"] * 17)),
    "wv deviceId": Case(-7002, WV_PATH, wv(deviceId="device-1")),
    # FairPlay policy
    "missing iv": Case(-6003, FP_PATH, fp(iv=REMOVE)),
    "malformed iv": Case(-6003, FP_PATH, fp(iv="zz" * 16)),
    "rentalDuration": Case(-6007, FP_PATH, fp(rentalDuration="soon")),
    "fpExtension type": Case(-2036, FP_PATH, fp(fpExtension="toolong,AAAA")),
    "fpExtension payload": Case(-2037, FP_PATH, fp(fpExtension="abcd,!!!!")),
    "fpExtension no comma": Case(-6001, FP_PATH, fp(fpExtension="abcd")),
    "fp deviceId": Case(-6008, FP_PATH, fp(deviceId="device-1")),
    "maxUses zero": Case(-1100, WV_PATH, wv(maxUses="0")),
    "fp maxUses too many": Case(-1100, FP_PATH, fp(maxUses="1001")),
    # rights and renewals
    "rental without rightsType": Case(-2020, WV_PATH, wv(**{"rental.periodEndTime": "+3600"})),
    "fp play duration without rightsType": Case(-2020, FP_PATH, fp(**{"rental.playDuration": "60"})),
    "unknown rightsType": Case(-2021, WV_PATH, wv(rightsType="Subscription")),
    "rightsType given twice": Case(-2021, FP_PATH, fp(rightsType=["BuyToOwn", "BuyToOwn"])),
    "BuyToOwn with a rental period": Case(-2021, WV_PATH, wv(rightsType="BuyToOwn", **{"rental.periodEndTime": "+60"})),
    "BuyToOwn renewing": Case(-2021, FP_PATH, fp(rightsType="BuyToOwn", renewalInterval="60")),
    "rightsType beside licenseDuration": Case(
        -2021, WV_PATH, wv(rightsType="Rental", licenseDuration="60", **{"rental.periodEndTime": "+60"})
    ),
    "fp rightsType beside rentalDuration": Case(-2021, FP_PATH, fp(rightsType="BuyToOwn", rentalDuration="0")),
    "Rental without a period end": Case(-2022, FP_PATH, fp(rightsType="Rental")),
    "Rental period end malformed": Case(-2022, WV_PATH, wv(rightsType="Rental", **{"rental.periodEndTime": "soon"})),
    "Rental period end past": Case(
        -2022, WV_PATH, wv(rightsType="Rental", **{"rental.periodEndTime": "2020-01-01T00:00:00Z"})
    ),
    "Rental period end too far": Case(-2022, FP_PATH, fp(rightsType="Rental", **{"rental.periodEndTime": "+31536001"})),
    "play duration zero": Case(
        -2025, WV_PATH, wv(rightsType="Rental", **{"rental.periodEndTime": "+60", "rental.playDuration": "0"})
    ),
    "fp play duration too long": Case(
        -2025, FP_PATH, fp(rightsType="Rental", **{"rental.periodEndTime": "+60", "rental.playDuration": "31536001"})
    ),
    "renewalInterval too short": Case(-1100, WV_PATH, wv(renewalInterval="59")),
    "fp renewalInterval too long": Case(-1100, FP_PATH, fp(renewalInterval="3601")),
    "renewalInterval not an integer": Case(-1100, WV_PATH, wv(renewalInterval="1e2")),
    "userId empty of meaning": Case(-1103, WV_PATH, wv(userId="a b")),
    "fp userId too long": Case(-1103, FP_PATH, fp(userId="u" * 65)),
    "userId not ASCII": Case(-1103, WV_PATH, wv(userId="viewer\u00e9")),
    "maxStreams zero": Case(-1104, WV_PATH, wv(userId="v1", renewalInterval="60", maxStreams="0")),
    "fp maxStreams over 20": Case(-1104, FP_PATH, fp(userId="v1", renewalInterval="60", maxStreams="21")),
    "maxStreams without userId": Case(-1105, WV_PATH, wv(renewalInterval="60", maxStreams="2")),
    "fp maxStreams without renewalInterval": Case(-1106, FP_PATH, fp(userId="v1", maxStreams="2")),
    "unknown streamPolicy": Case(
        -1107, WV_PATH, wv(userId="v1", renewalInterval="60", maxStreams="2", streamPolicy="end-newest")
    ),
    "streamPolicy without maxStreams": Case(-1108, FP_PATH, fp(userId="v1", streamPolicy="end-oldest")),
}


def run(case: Case, error_format: str, authenticator: str, store: AdminStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    if case.setup:
        case.setup(store, monkeypatch)
    params = case.params(authenticator) + [("errorFormat", error_format)]
    return invoke(rest_event(case.method, case.path, params))
