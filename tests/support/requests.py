"""Valid token requests to start from, and a way to change one parameter at a time."""

from __future__ import annotations

from tests.support.apigw import Pairs

TEST_VIEWER_KEY = "test-viewer-key-" + "0" * 32  # the viewers' hash key of every test (service_env)

CONTENT_KEY = "00112233445566778899aabbccddeeff"
IV = "0f0e0d0c0b0a09080706050403020100"
# RFC 3394 section 4.1: a 128-bit key wrapped under a 128-bit KEK.
RFC3394_KEK = "000102030405060708090a0b0c0d0e0f"
RFC3394_KEY = "00112233445566778899aabbccddeeff"
RFC3394_EK = "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"

REMOVE = object()


def widevine(authenticator: str, **changes: object) -> Pairs:
    base = {
        "customerAuthenticator": authenticator,
        "kid": "^kid1",
        "contentKey": CONTENT_KEY,
        "securityLevel": "1",
        "hdcpOutputControl": "0",
    }
    return change(base, changes)


def fairplay(authenticator: str, **changes: object) -> Pairs:
    base = {"customerAuthenticator": authenticator, "contentKey": CONTENT_KEY, "iv": IV}
    return change(base, changes)


def change(base: dict[str, str], changes: dict[str, object]) -> Pairs:
    """Apply changes: a string sets, REMOVE drops, a list repeats the parameter."""
    merged: dict[str, object] = {**base, **changes}
    pairs: Pairs = []
    for name, value in merged.items():
        if value is REMOVE:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item)))
    return pairs
