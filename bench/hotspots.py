"""Write load on the hottest DynamoDB item and partition key of one customer, counted from the code's own writes.

The charge (``DynamoAccounts.charge``) and the record (``DynamoRecords.put``) run as the
functions run them, on a client that answers every write with success and notes which
item each write lands on and its write units: 1 per KB of item for a write, 2 for a
transactional one, once more for an index whose key the item carries. DynamoDB serves
at most 1,000 write units a second on one item and on one partition key.

The highest sustainable rate is searched on the recorded sequence itself: a rate R holds
when every window of R consecutive requests (one second at R a second) keeps every item
and key at or under 1,000 units, so chance bunching on one shard is counted, not averaged away.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter
from typing import Any

from drmtoken.adapters.dynamodb import DynamoAccounts
from drmtoken.adapters.items import COOKIE_INDEX, COOKIE_KEY, RECORD_PK, SHARDS
from drmtoken.adapters.records import DynamoRecords, DynamoUses
from drmtoken.adapters.streams import DynamoStreams
from drmtoken.core.account import Authenticator
from drmtoken.core.drm import Drm, profile
from drmtoken.redeem.service import Redemption, RightsRequest, record_of

UNITS_PER_SECOND = 1000  # DynamoDB's ceiling on one item and on one partition key
KB = 1024
# The customer's item as the charge's condition sees it: a few live authenticators and the counts.
CUSTOMER_ITEM_BYTES = 600
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: names plus values (strings as UTF-8, numbers about a byte per two digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += len(value["N"]) // 2 + 2
        elif "B" in value:
            size += len(value["B"])
        else:
            size += 1
    return size


class WriteRecorder:
    """A DynamoDB client for the code under measure: every write succeeds, and lands in ``writes`` as (key, units)."""

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.writes: list[tuple[str, int]] = []
        self.requests: list[int] = []  # index in ``writes`` where each request began

    def begin_request(self) -> None:
        self.requests.append(len(self.writes))

    def get_item(self, **_: Any) -> dict[str, Any]:  # the shard count, read once by a function instance
        return {"Item": {SHARDS: {"N": str(self.shards)}}}

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        for operation in TransactItems:
            key = next(iter(operation.values()))["Key"]
            self.writes.append((f"item {key_text(key)}", 2 * math.ceil(CUSTOMER_ITEM_BYTES / KB)))
        return {}

    def put_item(self, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        units = math.ceil(item_bytes(Item) / KB)
        self.writes.append((f"partition {Item[RECORD_PK]['S']}", units))
        if COOKIE_KEY in Item:  # the byCookie index projects the whole item: one more write on its key
            self.writes.append((f"{COOKIE_INDEX} partition {Item[COOKIE_KEY]['S']}", units))
        return {}

    def update_item(self, Key: dict[str, Any], **_: Any) -> dict[str, Any]:  # a use counter, a viewer's slots
        self.writes.append((f"item {key_text(Key)}", 1))
        return {}


def key_text(key: dict[str, Any]) -> str:
    return "/".join(next(iter(value.values())) for value in key.values())


def charge_tokens(shards: int, requests: int) -> WriteRecorder:
    """``requests`` tokens of one unlimited customer, charged by the adapter the token functions use."""
    recorder = WriteRecorder(shards)
    accounts = DynamoAccounts(recorder, "customers")
    authenticator = Authenticator("live", "0" * 32)
    widevine = profile(Drm.WIDEVINE)
    for _ in range(requests):
        recorder.begin_request()
        accounts.charge(authenticator, "prod", widevine, True, secrets.token_hex(16))
    return recorder


def record_licenses(requests: int, max_uses: bool) -> WriteRecorder:
    """``requests`` licenses of one customer, each a different viewer's token, recorded as the rights functions do."""
    recorder = WriteRecorder(1)
    records = DynamoRecords(recorder, "records")
    uses = DynamoUses(recorder, "records")
    now = time.time()
    for _ in range(requests):
        recorder.begin_request()
        token_id = secrets.token_hex(16)
        if max_uses:
            reservation, attempt = secrets.token_hex(16), secrets.token_hex(8)
            uses.reserve(token_id, 1, int(now) + 3600, reservation, attempt, int(now))
            uses.settle(token_id, reservation, attempt)
        facts = {
            "tokenId": token_id,
            "customerId": "live",
            "kid": secrets.token_hex(16),
            "cookie": "viewer-" + secrets.token_hex(8),
            "drm": "wv",
            "kind": "license",
        }
        request = RightsRequest(token=None, body=b"", source_ip="203.0.113.77", user_agent=USER_AGENT)
        records.put(record_of(Redemption(code=0, facts=facts), request, now), 30 * 86400)
    return recorder


STREAMS_PER_VIEWER = 3


def record_renewals(requests: int) -> WriteRecorder:
    """``requests`` renewals of one customer's limited streams, 3 per viewer, kept and recorded as the functions do."""
    recorder = WriteRecorder(1)
    records = DynamoRecords(recorder, "records")
    streams = DynamoStreams(recorder, "records")
    now = int(time.time())
    viewers = [secrets.token_hex(16) for _ in range(max(1, requests // STREAMS_PER_VIEWER))]
    for number in range(requests):
        recorder.begin_request()
        viewer = viewers[number % len(viewers)]
        stream_id = f"stream{number % STREAMS_PER_VIEWER:010d}"
        streams.renew("live", viewer, stream_id, now, now + 120)
        facts = {"tokenId": secrets.token_hex(16), "customerId": "live", "viewer": viewer, "drm": "wv"}
        request = RightsRequest(token=None, body=b"", source_ip="203.0.113.77", user_agent=USER_AGENT)
        record = record_of(Redemption(code=0, facts={**facts, "kind": "renewal", "streamId": stream_id}), request, now)
        records.put(record, 30 * 86400)
    return recorder


def hottest_per_thousand(recorder: WriteRecorder) -> tuple[float, str]:
    """Write units on the hottest item or key per 1,000 requests, over the whole run, and which it is."""
    units: Counter[str] = Counter()
    for key, spent in recorder.writes:
        units[key] += spent
    key, total = units.most_common(1)[0]
    return total * 1000 / len(recorder.requests), key


def sustainable_rate(recorder: WriteRecorder) -> int:
    """The highest requests a second at which no window of that many requests puts >1,000 units on one key."""

    def holds(rate: int) -> bool:
        starts = recorder.requests
        for first in range(0, len(starts) - rate + 1, rate):
            end = starts[first + rate] if first + rate < len(starts) else len(recorder.writes)
            window: Counter[str] = Counter()
            for key, spent in recorder.writes[starts[first] : end]:
                window[key] += spent
            if window.most_common(1)[0][1] > UNITS_PER_SECOND:
                return False
        return True

    low, high = 1, len(recorder.requests) // 2  # at least two windows
    if holds(high):
        return high  # more than the run can show
    while high - low > max(1, low // 200):  # within 0.5 %
        middle = (low + high) // 2
        low, high = (middle, high) if holds(middle) else (low, middle)
    return low


def measure(shard_counts: tuple[int, ...], requests: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for shards in shard_counts:
        recorder = charge_tokens(shards, requests)
        per_thousand, key = hottest_per_thousand(recorder)
        results[f"tokens, S={shards}"] = {"per_1000": per_thousand, "key": key, "rate": sustainable_rate(recorder)}
    for max_uses in (False, True):
        recorder = record_licenses(requests, max_uses)
        per_thousand, key = hottest_per_thousand(recorder)
        name = "licenses" + (" with maxUses" if max_uses else "")
        results[name] = {"per_1000": per_thousand, "key": key, "rate": sustainable_rate(recorder)}
    recorder = record_renewals(requests)
    per_thousand, key = hottest_per_thousand(recorder)
    slots = WriteRecorder(1)
    slots.requests, slots.writes = recorder.requests, [w for w in recorder.writes if "streams#" in w[0]]
    results["renewals with maxStreams"] = {
        "per_1000": per_thousand,
        "key": key,
        "rate": sustainable_rate(recorder),
        "slots_per_1000": hottest_per_thousand(slots)[0],  # the hottest viewer's slots item
    }
    return results
