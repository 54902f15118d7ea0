"""maxStreams holds on the real engine while it misbehaves (docs/data-model.md, "Stream slots").

50 players of one viewer race for 3 slots through a proxy that loses the answers of some
writes after they committed, or holds a write until the client has given up and sent it
again; a player answered 503 tries again, as players do. Exactly 3 play, every round, and
a slot that lapsed is taken again by exactly as many.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine

from drmtoken import runtime
from drmtoken.adapters import aws
from drmtoken.adapters.streams import DynamoStreams
from drmtoken.core.slots import viewer_of
from drmtoken_cli.admin_store import AdminStore
from tests.support.apigw import rest_event
from tests.support.faults import AnswerDropper
from tests.support.lambdas import WV_PATH, invoke
from tests.support.requests import TEST_VIEWER_KEY, widevine

pytestmark = pytest.mark.integration
PLAYERS, SLOTS = 50, 3
REQUEST = json.dumps({"kids": ["gOqLyKWPmQrR92vGZbML-g"], "type": "temporary"}).encode()  # ^kid1
T0 = 1_800_000_000


@pytest.fixture
def tokens(local_store: AdminStore, local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")
    local_store.create_customer("acme", widevine=True, limits={})
    authenticator = "acme," + local_store.add_authenticator("acme", "test")
    limited = {"userId": "viewer-7", "maxStreams": str(SLOTS), "renewalInterval": "60"}
    with time_machine.travel(T0, tick=False):
        urls = [
            str(invoke(rest_event("GET", WV_PATH, widevine(authenticator, **limited)))["body"]) for _ in range(PLAYERS)
        ]
    return [url.split("ExpressPlayToken=", 1)[1] for url in urls]


@pytest.fixture
def proxied(local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[AnswerDropper]:
    """Every PutItem and UpdateItem goes through the proxy; the first 8 answers of them are lost."""
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("PutItem", "UpdateItem"), count=8) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        yield proxy
    runtime.reset()


def play(token: str, player: int) -> int:
    """A player's first license: the status of its last try (it tries again after a 503, up to 4 times)."""
    status = 0
    for _ in range(4):
        event = rest_event(
            "POST", f"/hms/ck/rights/?ExpressPlayToken={token}", headers={"Content-Type": "application/json"}
        )
        event.update(body=base64.b64encode(REQUEST).decode(), isBase64Encoded=True)
        event["requestContext"]["identity"]["sourceIp"] = f"198.51.100.{player}"
        status = int(invoke(event)["statusCode"])
        if status != 503:
            return status
    return status


def race(tokens: list[str]) -> list[int]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(play, tokens, range(len(tokens))))


def live_slots(now: int) -> int:
    streams = DynamoStreams(aws.client("dynamodb"), "drm-token-records")
    return len(streams.open_streams("acme", viewer_of(TEST_VIEWER_KEY.encode(), "acme", "viewer-7"), now))


def test_fifty_players_racing_for_three_slots_through_lost_answers_get_exactly_three(
    tokens: list[str], proxied: AnswerDropper
) -> None:
    with time_machine.travel(T0 + 1, tick=False) as clock:
        first = race(tokens)
        assert proxied.dropped == 8  # the faults happened
        assert first.count(200) == SLOTS and first.count(403) == PLAYERS - SLOTS, first
        assert live_slots(T0 + 1) == SLOTS
        # Nobody renews: the slots lapse after the interval and the grace, and are taken again by exactly 3.
        clock.move_to(T0 + 1 + 60 + 60)
        second = race(list(reversed(tokens)))
        assert second.count(200) == SLOTS and second.count(403) == PLAYERS - SLOTS, second
        assert live_slots(T0 + 121) == SLOTS


def test_writes_held_past_the_clients_timeout_still_open_exactly_three(
    tokens: list[str], local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some PutItems reach the engine 1.5 s late, after botocore gave up and sent them again."""
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("PutItem",), count=4, hold=1.5) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        with time_machine.travel(T0 + 1, tick=False):
            results = race(tokens[:20])
            time.sleep(2)  # the held writes land (or fail their condition) before counting
            assert proxy.dropped == 4
            assert results.count(200) == SLOTS, results
            assert live_slots(T0 + 1) == SLOTS
    runtime.reset()


def test_an_answer_lost_on_every_try_leaves_the_slot_to_the_players_retry(
    tokens: list[str], local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open lands; all 3 of botocore's tries lose their answers: 503, and the retry is the same stream."""
    with AnswerDropper(local_env["AWS_ENDPOINT_URL_DYNAMODB"], ("PutItem",), count=3) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint)
        runtime.reset()
        with time_machine.travel(T0 + 1, tick=False):
            assert play(tokens[0], 1) == 200  # its first try 503, its second kept the slot that landed
            assert proxy.dropped == 3
            assert live_slots(T0 + 1) == 1
            assert [play(token, 2 + n) for n, token in enumerate(tokens[1:4])] == [200, 200, 403]
    runtime.reset()
