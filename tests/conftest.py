"""Fixtures for every test: a sandboxed AWS environment, a keyring, the functions' environment."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import time_machine

from drmtoken import runtime
from drmtoken.core.token import Keyring
from tests.support.lambdas import FUNCTIONS
from tests.support.requests import TEST_VIEWER_KEY

CLOCK_SHIFT = "DRMTOKEN_TEST_CLOCK_SHIFT"  # seconds: CI moves the clock this far forward once collection is done


def pytest_collection_finish(session: pytest.Session) -> None:
    """With $DRMTOKEN_TEST_CLOCK_SHIFT, every test runs that far in the future of when it was collected.

    A test that computed a time at import (a token's expiry) and relied on the suite being
    quick fails then: no test may depend on how long the suite took.
    """
    shift = float(os.environ.get(CLOCK_SHIFT) or 0)
    if shift:
        time_machine.travel(time.time() + shift, tick=True).start()  # for the whole session; the process ends it


@pytest.fixture(autouse=True)
def aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach a real AWS account or a leftover local endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "DrmTokenService")
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def keyring_json() -> str:
    return Keyring.generate_json("t1")


@pytest.fixture
def sealing_keyring_json() -> str:
    """The key-sealing keyring of held keys."""
    return Keyring.generate_json("s1")


@pytest.fixture
def keyring(keyring_json: str) -> Keyring:
    return Keyring.from_json(keyring_json)


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch, keyring_json: str, sealing_keyring_json: str) -> dict[str, str]:
    """The functions' environment exactly as template.yaml sets it, with inline keyrings."""
    env = dict(FUNCTIONS["WidevineFunction"].environment)
    env["TOKEN_KEYRING"] = keyring_json
    env["KEY_SEALING_KEYRING"] = sealing_keyring_json
    env["VIEWER_KEY"] = TEST_VIEWER_KEY
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TOKEN_KEYRING_SECRET", raising=False)
    monkeypatch.delenv("KEY_SEALING_KEYRING_SECRET", raising=False)
    monkeypatch.delenv("VIEWER_KEY_SECRET", raising=False)
    return env
