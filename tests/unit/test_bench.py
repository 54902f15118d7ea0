"""`make bench` measures what it says: keep its in-process parts working between runs."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from unittest import mock

import pytest

from bench import calls, coldstart, hotspots, keys, refusals, rights, service
from drmtoken import runtime
from drmtoken.adapters import aws


@pytest.fixture
def bench_environment() -> Iterator[None]:
    """The bench sets the functions' variables directly; give them back afterwards."""
    with mock.patch.dict(os.environ):
        yield
    runtime.reset()


def test_service_time_splits_into_the_boto3_call_and_the_rest(bench_environment: None) -> None:
    results = service.measure(300)
    for result in results.values():
        assert 0 < result["floor_p50_ms"] < result["without_client_call_p50_ms"] < result["p50_ms"]
    assert "transact_write_items" not in vars(aws.client("dynamodb"))  # the real method is back


def test_dynamodb_calls_per_request_are_counted(bench_environment: None) -> None:
    assert calls.measure() == {"success": 1, "validation failure": 0, "auth failure": 1, "allowance used up": 1}


def test_refusal_timing_compares_both_refusals(bench_environment: None) -> None:
    timing = refusals.measure(5)
    assert timing["wrong_secret_p50_ms"] > 0 and timing["unknown_p50_ms"] > 0
    assert timing["difference_us"] == (timing["wrong_secret_p50_ms"] - timing["unknown_p50_ms"]) * 1000
    assert 0 <= timing["wrong_slower_share"] <= 1


def test_rights_routes_are_measured_and_cost_what_the_contract_says(bench_environment: None) -> None:
    from bench.__main__ import RIGHTS_CALLS, WIDEVINE_EXTRA_CALLS

    measured = rights.measure(50)
    assert {"wv renewal", "fp renewal", "ck renewal"} <= set(measured)  # a renewal beside each first license
    for result in measured.values():
        assert 0 < result["floor_p50_ms"] < result["p50_ms"]
    counted = rights.calls_per_redemption()
    assert {
        f"{route} {kind}" for route in ("wv", "fp", "ck") for kind in ("renewal of a maxUses token", "forged renewal")
    } <= set(counted)
    for case, made in counted.items():
        route, _, kind = case.partition(" ")
        dynamodb, back_end = RIGHTS_CALLS[kind]
        dynamodb += WIDEVINE_EXTRA_CALLS.get(kind, 0) if route == "wv" else 0
        assert {k: made[k] for k in ("dynamodb", "back end")} == {
            "dynamodb": dynamodb,
            "back end": 0 if route == "ck" else back_end,
        }, case
    # A stream limit adds the viewer's slots write to a first license, and its keeping to a renewal.
    assert counted["ck success"]["writes"] == 1 and counted["ck success with maxStreams"]["writes"] == 2
    assert counted["wv success with maxStreams"]["writes"] == 3  # and the device kept on the slot
    assert counted["fp renewal of a maxUses token"]["writes"] == 1
    assert counted["fp renewal with maxStreams"]["writes"] == 2


def test_the_key_provider_and_held_key_tokens_cost_what_the_docs_say(bench_environment: None) -> None:
    from bench.__main__ import KEY_CASE_CALLS

    measured = keys.measure(2)
    assert {case: len(result["dynamodb"]) for case, result in measured.items()} == KEY_CASE_CALLS
    assert all(result["p50_ms"] > 0 for result in measured.values())


def test_renewals_of_one_customers_limited_streams_put_no_load_on_one_item() -> None:
    """1,000 renewals of one customer, 3 streams per viewer: the hottest key is a records bucket; a viewer's item 3."""
    renewals = hotspots.record_renewals(3000)
    per_thousand, key = hotspots.hottest_per_thousand(renewals)
    assert key.startswith("partition live#") and per_thousand < 60
    slots = [units for name, units in renewals.writes if "streams#live#" in name]
    assert len(slots) == 3000 and max(Counter(n for n, _ in renewals.writes if "streams#" in n).values()) == 3


def test_hot_items_are_counted_from_the_code_s_own_writes() -> None:
    """One shard: every token is 2 write units on the customer's item, 500 a second; shards and buckets spread it."""
    one = hotspots.charge_tokens(1, 2000)
    assert hotspots.hottest_per_thousand(one) == (2000.0, "item live")
    assert hotspots.sustainable_rate(one) == 500
    eight = hotspots.charge_tokens(8, 8000)
    per_thousand, key = hotspots.hottest_per_thousand(eight)
    assert key.startswith("item live") and 250 <= per_thousand < 330  # 2000 / 8, plus chance
    licenses = hotspots.record_licenses(4000, max_uses=True)
    per_thousand, key = hotspots.hottest_per_thousand(licenses)
    assert key.startswith("partition live#") and per_thousand < 60  # one write per record, over 32 buckets


def test_a_cold_start_probe_answers_and_times_warm_answers_too(bench_environment: None) -> None:
    """The probe the per-Python comparison runs, here in this interpreter: a first answer, then warm ones."""
    first, _ = coldstart.probe([], "", coldstart.first_request_code())
    warm, _ = coldstart.probe([], "", coldstart.first_request_code(warm_requests=50))
    assert 0 < warm < first and warm < 0.05  # a warm answer is well under the first one's imports
