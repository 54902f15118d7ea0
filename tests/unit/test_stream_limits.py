"""At most maxStreams streams at once per viewer (docs/rights-api.md, "Streams"; docs/data-model.md, "Stream slots").

The pure rules first, then the handlers on moto (Clear Key and Widevine), then the slots'
adapter with other requests interleaved before each of its calls, and with a write whose
answer was lost.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError

from drmtoken.adapters import aws
from drmtoken.adapters.streams import DynamoStreams, stream_key
from drmtoken.core.rights import GRACE_SECONDS
from drmtoken.core.slots import END_OLDEST, REFUSE_NEW, Opened, Slot, plan_open, viewer_of
from drmtoken_cli.devserver.widevine_standin import WidevineStandIn
from tests.support.apigw import rest_event
from tests.support.lambdas import FP_PATH, WV_PATH, invoke
from tests.support.requests import TEST_VIEWER_KEY, fairplay, widevine
from tests.support.widevine_proto import RELEASE, new_challenge, renewal_challenge

KID1 = "80ea8bc8a58f990ad1f76bc665b30bfa"  # ^kid1
T0 = 1_800_000_000
LIMITED = {"userId": "viewer-7", "maxStreams": "2", "renewalInterval": "60"}


def slot(stream_id: str, opened: int = T0, until: int = T0 + 120, ended: bool = False) -> Slot:
    return Slot(stream_id.ljust(16, "x"), opened, opened, until, "clearkey", ended=ended)


# --- the rules -------------------------------------------------------------------------------


def test_a_full_viewer_refuses_a_new_stream_but_not_one_already_open() -> None:
    open_ = (slot("a"), slot("b", T0 + 1))
    assert plan_open(open_, slot("c", T0 + 2), 2, REFUSE_NEW, T0 + 5).outcome is Opened.FULL
    assert plan_open(open_, slot("a", T0 + 3), 2, REFUSE_NEW, T0 + 5).outcome is Opened.KEPT
    assert plan_open(open_, slot("c", T0 + 2), 3, REFUSE_NEW, T0 + 5).outcome is Opened.OPENED


def test_lapsed_and_ended_slots_take_no_room_and_lapsed_ones_are_dropped() -> None:
    slots = (slot("a", until=T0 + 10), slot("b", ended=True), slot("c"))
    plan = plan_open(slots, slot("d"), 2, REFUSE_NEW, T0 + 10)
    assert plan.outcome is Opened.OPENED
    assert [s.stream_id[0] for s in plan.slots] == ["b", "c", "d"]  # a lapsed; b ended, kept until its license ends


def test_end_oldest_opens_the_new_stream_and_ends_the_oldest_live_one() -> None:
    slots = (slot("b", T0 + 1), slot("a", T0), slot("c", T0 + 2, ended=True))
    plan = plan_open(slots, slot("d", T0 + 3), 2, END_OLDEST, T0 + 5)
    assert plan.outcome is Opened.OPENED
    assert {s.stream_id[0]: s.ended for s in plan.slots} == {"a": True, "b": False, "c": True, "d": False}
    # maxStreams lowered by a newer token: as many of the oldest end as it takes.
    three = (slot("a", T0), slot("b", T0 + 1), slot("c", T0 + 2))
    ended = [s.stream_id[0] for s in plan_open(three, slot("d"), 1, END_OLDEST, T0 + 5).slots if s.ended]
    assert ended == ["a", "b", "c"]


def test_the_viewer_is_a_keyed_hash_of_customer_and_user() -> None:
    key = TEST_VIEWER_KEY.encode()
    assert viewer_of(key, "acme", "u1") != viewer_of(key, "other", "u1") != viewer_of(b"k" * 32, "acme", "u1")
    assert len(viewer_of(key, "acme", "u1")) == 32 and "u1" not in viewer_of(key, "acme", "u1")


# --- through the handlers --------------------------------------------------------------------


@pytest.fixture
def clearkey_on(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    monkeypatch.setenv("CLEARKEY_ENABLED", "true")


def token_of(authenticator: str, drm: str = "wv", **changes: Any) -> str:
    build, path = (fairplay, FP_PATH) if drm == "fp" else (widevine, WV_PATH)
    response = invoke(rest_event("GET", path, build(authenticator, **changes)))
    assert response["statusCode"] == 200, response["body"]
    return str(response["body"]).split("ExpressPlayToken=", 1)[1]


def clearkey(token: str, player: str = "203.0.113.1", renews: str | None = None) -> dict[str, Any]:
    kid = base64.urlsafe_b64encode(bytes.fromhex(KID1)).rstrip(b"=").decode()
    headers = {"Content-Type": "application/json", **({"Drm-Renewal-Of": renews} if renews else {})}
    event = rest_event("POST", f"/hms/ck/rights/?ExpressPlayToken={token}", headers=headers)
    event.update(body=base64.b64encode(json.dumps({"kids": [kid]}).encode()).decode(), isBase64Encoded=True)
    event["requestContext"]["identity"]["sourceIp"] = player
    return invoke(event)


def code_of(response: dict[str, Any]) -> int:
    return 0 if response["statusCode"] == 200 else int(json.loads(response["body"])["errorCode"])


def slots_item(dynamodb: Any, user_id: str = "viewer-7") -> dict[str, Any]:
    key = stream_key("acme", viewer_of(TEST_VIEWER_KEY.encode(), "acme", user_id))
    item: dict[str, Any] = dynamodb.get_item(TableName="drm-token-records", Key=key).get("Item", {})
    return item


@pytest.mark.usefixtures("clearkey_on")
def test_two_streams_play_the_third_is_refused_until_one_lapses(authenticator: str, dynamodb: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        tokens = [token_of(authenticator, **LIMITED) for _ in range(3)]
        first, second = clearkey(tokens[0]), clearkey(tokens[1])
        assert code_of(first) == code_of(second) == 0
        assert code_of(clearkey(tokens[2])) == -4033
        assert code_of(clearkey(tokens[0])) == 0  # the first player's retry is its own stream: kept, not a third
        assert code_of(clearkey(tokens[2])) == -4033
        clock.move_to(T0 + 50)
        assert code_of(clearkey(tokens[1], renews=second["headers"]["Drm-Stream-Id"])) == 0
        clock.move_to(T0 + 60 + GRACE_SECONDS)  # the first stream's renewal never came
        assert code_of(clearkey(tokens[2])) == 0
        assert code_of(clearkey(tokens[0], renews=first["headers"]["Drm-Stream-Id"])) == -4034
        assert code_of(clearkey(tokens[1], renews=second["headers"]["Drm-Stream-Id"])) == 0
    slots = [name for name in slots_item(dynamodb) if name.startswith("t")]
    assert len(slots) == 2


@pytest.mark.usefixtures("clearkey_on")
def test_one_player_asking_for_the_keys_of_a_title_at_once_is_one_stream(authenticator: str, dynamodb: Any) -> None:
    token = token_of(authenticator, **{**LIMITED, "maxStreams": "1"})
    answers = [clearkey(token) for _ in range(4)]  # audio, video, a quality switch, a retry
    assert [code_of(a) for a in answers] == [0, 0, 0, 0]
    assert len({a["headers"]["Drm-Stream-Id"].split(".")[1] for a in answers}) == 1
    assert code_of(clearkey(token, player="198.51.100.9")) == -4033  # another device with the same token


@pytest.mark.usefixtures("clearkey_on")
def test_end_oldest_lets_the_new_stream_play_and_ends_the_oldest_at_its_renewal(authenticator: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        tokens = [token_of(authenticator, **LIMITED, streamPolicy="end-oldest") for _ in range(3)]
        tickets = []
        for number, token in enumerate(tokens):
            clock.move_to(T0 + number)
            response = clearkey(token)
            assert code_of(response) == 0
            tickets.append(response["headers"]["Drm-Stream-Id"])
        clock.move_to(T0 + 30)
        renewals = [code_of(clearkey(token, renews=ticket)) for token, ticket in zip(tokens, tickets, strict=True)]
    assert renewals == [-4034, 0, 0]


def test_a_widevine_release_frees_the_slot_at_once(authenticator: str, stand_in: WidevineStandIn) -> None:
    tokens = [token_of(authenticator, **{**LIMITED, "maxStreams": "1"}) for _ in range(2)]

    def license_(token: str, body: bytes) -> dict[str, Any]:
        event = rest_event(
            "POST", f"/hms/wv/rights/?ExpressPlayToken={token}", headers={"Content-Type": "application/octet-stream"}
        )
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
        return invoke(event)

    held = license_(tokens[0], new_challenge())
    assert code_of(held) == 0
    assert code_of(license_(tokens[1], new_challenge())) == -4033
    assert code_of(license_(tokens[0], renewal_challenge(base64.b64decode(held["body"]), RELEASE))) == 0
    assert code_of(license_(tokens[1], new_challenge())) == 0


@pytest.mark.usefixtures("clearkey_on")
def test_a_first_license_that_fails_gives_its_slot_back(
    authenticator: str, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drmtoken.redeem.clearkey import ClearKeyBackend

    token = token_of(authenticator, **{**LIMITED, "maxStreams": "1"})
    other = token_of(authenticator, **{**LIMITED, "maxStreams": "1"})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the back end")

    with monkeypatch.context() as patched:
        patched.setattr(ClearKeyBackend, "issue", broken)
        assert clearkey(token)["statusCode"] == 500
    assert code_of(clearkey(other)) == 0  # the failed request's slot was free again


@pytest.mark.usefixtures("clearkey_on")
def test_records_and_the_token_keep_the_viewers_hash_never_the_user_id(authenticator: str, dynamodb: Any) -> None:
    token = token_of(authenticator, **LIMITED)
    assert code_of(clearkey(token)) == 0
    items = dynamodb.scan(TableName="drm-token-records")["Items"]
    text = json.dumps(items)
    assert "viewer-7" not in text
    viewer = viewer_of(TEST_VIEWER_KEY.encode(), "acme", "viewer-7")
    assert [i["viewer"]["S"] for i in items if "viewer" in i] == [viewer]


# --- the adapter, interleaved ----------------------------------------------------------------


class Interleaving:
    """A client that, before each call of the request under test, lets other requests run whole."""

    def __init__(self, client: Any, rng: random.Random, others: list[Callable[[], object]]) -> None:
        self.client, self.rng, self.others = client, rng, others

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self.client, name)

        def interleaved(**kwargs: Any) -> Any:
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                self.rng.choice(self.others)()
            return operation(**kwargs)

        return interleaved


@pytest.mark.parametrize("seed", range(40))
def test_no_interleaving_of_opens_renewals_ends_and_closes_opens_more_than_max(seed: int, dynamodb: Any) -> None:
    """Every stream told OPENED, and not since ended or closed, still holds its slot; never more than max do."""
    rng = random.Random(seed)
    client = aws.client("dynamodb")
    plain = DynamoStreams(client, "drm-token-records")
    max_streams, now = 3, T0
    holding: set[str] = set()  # the streams that were given a license and were not since ended or closed
    opened = 0

    def open_one(name: str, streams: DynamoStreams) -> None:
        nonlocal opened
        if streams.open("acme", "v", slot(name, now), max_streams, REFUSE_NEW, now) is Opened.OPENED:
            holding.add(name.ljust(16, "x"))
            opened += 1

    def pick() -> str:
        return rng.choice(sorted(holding) or ["none".ljust(16, "x")])

    def end_one() -> None:
        name = pick()
        if plain.end("acme", "v", name, now):
            holding.discard(name)

    def close_one() -> None:
        name = pick()
        plain.close("acme", "v", name)
        holding.discard(name)

    others: list[Callable[[], object]] = [
        lambda: open_one(f"o{rng.randrange(10**6)}", plain),
        lambda: open_one(f"o{rng.randrange(10**6)}", plain),
        lambda: plain.renew("acme", "v", pick(), now, now + 120),
        end_one,
        close_one,
    ]
    racing = DynamoStreams(Interleaving(client, rng, others), "drm-token-records")
    for number in range(8):
        open_one(f"r{number}", racing)
        live = {s.stream_id for s in plain.open_streams("acme", "v", now)}
        assert holding <= live and len(live) <= max_streams
    assert opened > max_streams  # the race was real: slots were taken, freed and taken again


def test_an_open_whose_answer_was_lost_knows_it_landed(dynamodb: Any) -> None:
    client = aws.client("dynamodb")

    class LosesThePut:
        """PutItem lands, then its answer is lost: botocore's retry finds its own condition failed."""

        def __getattr__(self, name: str) -> Any:
            operation = getattr(client, name)
            if name != "put_item":
                return operation

            def lost(**kwargs: Any) -> Any:
                operation(**kwargs)
                error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request"}}
                raise ClientError(error, "PutItem")  # type: ignore[arg-type]

            return lost

    streams = DynamoStreams(LosesThePut(), "drm-token-records")
    assert streams.open("acme", "v", slot("a"), 1, REFUSE_NEW, T0) is Opened.OPENED
    plain = DynamoStreams(client, "drm-token-records")
    assert [s.stream_id[0] for s in plain.open_streams("acme", "v", T0)] == ["a"]
    assert plain.open("acme", "v", slot("b"), 1, REFUSE_NEW, T0) is Opened.FULL


def test_an_end_whose_answer_was_lost_is_still_this_ends_and_a_second_end_is_not(dynamodb: Any) -> None:
    client = aws.client("dynamodb")
    plain = DynamoStreams(client, "drm-token-records")
    assert plain.open("acme", "v", slot("a"), 1, REFUSE_NEW, T0) is Opened.OPENED

    class RetriesTheUpdate:
        def __getattr__(self, name: str) -> Any:
            operation = getattr(client, name)
            if name != "update_item":
                return operation

            def twice(**kwargs: Any) -> Any:
                operation(**kwargs)  # it landed; the answer was lost and botocore sent it again
                return operation(**kwargs)

            return twice

    assert DynamoStreams(RetriesTheUpdate(), "drm-token-records").end("acme", "v", "a".ljust(16, "x"), T0 + 1)
    assert not plain.end("acme", "v", "a".ljust(16, "x"), T0 + 2)
    assert plain.open_streams("acme", "v", T0 + 2) == []
    assert plain.open("acme", "v", slot("b"), 1, REFUSE_NEW, T0 + 2) is Opened.OPENED


def test_the_slots_of_a_viewer_are_one_item_keyed_by_the_viewer(dynamodb: Any) -> None:
    streams = DynamoStreams(aws.client("dynamodb"), "drm-token-records")
    for viewer in ("v1", "v2"):
        assert streams.open("acme", viewer, slot("a"), 1, REFUSE_NEW, T0) is Opened.OPENED
    keys = [item["pk"]["S"] for item in dynamodb.scan(TableName="drm-token-records")["Items"]]
    assert sorted(keys) == ["streams#acme#v1", "streams#acme#v2"]


# --- the streams API -------------------------------------------------------------------------


def streams_api(method: str, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    params = [*params, ("errorFormat", "json")]
    if method == "GET":
        return invoke(rest_event("GET", path, params))
    return invoke(rest_event("POST", path, form=params))


@pytest.mark.usefixtures("clearkey_on")
def test_a_customer_sees_its_viewers_streams_and_ends_one(authenticator: str, store: Any) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        tokens = [token_of(authenticator, **LIMITED) for _ in range(3)]
        first = clearkey(tokens[0])
        clock.move_to(T0 + 5)
        second = clearkey(tokens[1], player="198.51.100.2")
        clock.move_to(T0 + 30)
        assert code_of(clearkey(tokens[1], player="198.51.100.2", renews=second["headers"]["Drm-Stream-Id"])) == 0
        viewer = [("customerAuthenticator", authenticator), ("userId", "viewer-7")]
        listed = json.loads(streams_api("GET", "/cmiapi/streams/", viewer)["body"])
        ids = [first["headers"]["Drm-Stream-Id"].split(".")[1], second["headers"]["Drm-Stream-Id"].split(".")[1]]
        assert listed == {
            "streams": [
                {"id": ids[0], "openedAt": T0 * 1000, "lastRenewalAt": T0 * 1000, "drm": "clearkey", "device": {}},
                {
                    "id": ids[1],
                    "openedAt": (T0 + 5) * 1000,
                    "lastRenewalAt": (T0 + 30) * 1000,
                    "drm": "clearkey",
                    "device": {},
                },
            ]
        }
        ended = streams_api("POST", "/cmiapi/streams/end/", [*viewer, ("streamId", ids[0])])
        assert json.loads(ended["body"]) == {"ended": ids[0]}
        assert code_of(clearkey(tokens[2], player="192.0.2.3")) == 0  # its slot was free at once
        assert code_of(clearkey(tokens[0], renews=first["headers"]["Drm-Stream-Id"])) == -4034
        again = streams_api("POST", "/cmiapi/streams/end/", [*viewer, ("streamId", ids[0])])
        assert (again["statusCode"], code_of(again)) == (404, -4035)
        # Another customer, or another of this customer's viewers, never sees or ends it.
        store.create_customer("other", widevine=True, limits={})
        other = [("customerAuthenticator", "other," + store.add_authenticator("other", "test")), ("userId", "viewer-7")]
        assert json.loads(streams_api("GET", "/cmiapi/streams/", other)["body"]) == {"streams": []}
        stranger = streams_api("POST", "/cmiapi/streams/end/", [*other, ("streamId", ids[1])])
        assert (stranger["statusCode"], code_of(stranger)) == (404, -4035)
        not_the_viewer = [("customerAuthenticator", authenticator), ("userId", "viewer-8"), ("streamId", ids[1])]
        assert code_of(streams_api("POST", "/cmiapi/streams/end/", not_the_viewer)) == -4035
        assert len(json.loads(streams_api("GET", "/cmiapi/streams/", viewer)["body"])["streams"]) == 2


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "/cmiapi/streams/", [("userId", "v")], 401, -2017),
        ("GET", "/cmiapi/streams/", [("customerAuthenticator", "AUTH")], 400, -1103),
        ("GET", "/cmiapi/streams/", [("customerAuthenticator", "AUTH"), ("userId", "a b")], 400, -1103),
        ("GET", "/cmiapi/streams/", [("customerAuthenticator", "acme," + "0" * 32), ("userId", "v")], 401, -2018),
        ("POST", "/cmiapi/streams/", [("customerAuthenticator", "AUTH"), ("userId", "v")], 405, -1001),
        ("GET", "/cmiapi/streams/end/", [("customerAuthenticator", "AUTH"), ("userId", "v")], 405, -1001),
        ("POST", "/cmiapi/streams/end/", [("customerAuthenticator", "AUTH"), ("userId", "v")], 404, -4035),
        (
            "POST",
            "/cmiapi/streams/end/",
            [("customerAuthenticator", "AUTH"), ("userId", "v"), ("streamId", "x")],
            404,
            -4035,
        ),
    ],
)
def test_the_streams_api_refuses_bad_requests_with_their_codes(
    method: str, path: str, params: list[tuple[str, str]], status: int, code: int, authenticator: str
) -> None:
    filled = [(name, authenticator if value == "AUTH" else value) for name, value in params]
    filled.append(("errorFormat", "json"))
    event = rest_event(method, path, filled) if method == "GET" else rest_event(method, path, form=filled)
    response = invoke(event)
    assert (response["statusCode"], code_of(response)) == (status, code)


@pytest.mark.usefixtures("clearkey_on")
def test_an_operator_lists_and_ends_a_viewers_streams(authenticator: str, capsys: pytest.CaptureFixture[str]) -> None:
    from drmtoken_cli.main import main

    token = token_of(authenticator, **LIMITED)
    first = clearkey(token)
    stream_id = first["headers"]["Drm-Stream-Id"].split(".")[1]
    capsys.readouterr()
    assert main(["streams", "acme", "viewer-7", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["id"], s["drm"]) for s in listed] == [(stream_id, "clearkey")]
    assert main(["streams", "end", "acme", "viewer-7", stream_id]) == 0
    assert "ended stream" in capsys.readouterr().err
    assert main(["streams", "end", "acme", "viewer-7", stream_id]) == 1
    assert "nothing changed" in capsys.readouterr().err
    assert main(["streams", "acme", "viewer-7"]) == 0 and capsys.readouterr().out == ""
    assert code_of(clearkey(token, renews=first["headers"]["Drm-Stream-Id"])) == -4034
    assert main(["streams", "acme", "bad id"]) == 1
    assert "userId" in capsys.readouterr().err
