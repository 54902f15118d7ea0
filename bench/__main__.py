"""`make bench`: where a token request's time goes, as figures next to their targets.

Writes bench/results.json: a list of {"name", "value", "unit", "target", "met"}.
Ratios are taken within one run, since absolute times drift on shared machines.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import calls, coldstart, fullpath, hotspots, keys, refusals, rights, runtimes, service

RESULTS = Path(__file__).resolve().parent / "results.json"
SERVICE_CALLS = 5000
# The contract's cost (docs/rights-api.md section 8): one record write per redemption whose token opens,
# plus for a maxUses token the reservation and then its settle (or its give-back, on failure); one back-end
# call at most.
RIGHTS_CALLS = {  # case -> (DynamoDB calls, back-end calls)
    "success": (1, 1),
    "success with maxUses": (3, 1),
    "bad token": (0, 0),
    "expired": (1, 0),
    "used up": (2, 0),
    "back end refused": (3, 1),
    "certificate request": (1, 1),  # the record only: no use is taken
    "renewal of a maxUses token": (1, 1),  # the record only: a renewal spends no use
    "forged renewal": (1, 0),  # refused by its ticket alone: the record, nothing asked
    "success with maxStreams": (3, 1),  # the slots read, the slots written, the record (Widevine: +1, its device)
    "renewal with maxStreams": (2, 1),  # the slot kept, the record
}
WIDEVINE_EXTRA_CALLS = {"success with maxStreams": 1}  # the device the license service named, kept on the slot
KEY_CALLS = 500
# docs/key-provider.md and docs/data-model.md: the customer and one BatchGetItem, a PutItem per new key;
# a token from held keys reads them once (one Query) before its one charge, and not again while cached.
KEY_CASE_CALLS = {
    "key provider, 2 keys held": 2,
    "key provider, 2 new keys": 4,
    "key provider, 8 keys held": 2,
    "key provider, 8 new keys": 10,
    "token by contentId (4 keys), keys not cached": 2,
    "token by contentId (4 keys), keys cached": 1,
}
REFUSAL_CALLS = 400  # each refusal waits out the 25 ms floor
COLD_START_REPEATS = 7
FULL_PATH_REQUESTS = 800
HOTSPOT_REQUESTS = 400_000  # about 14 one-second windows at the S = 64 ceiling
HOTSPOT_SHARDS = (1, 8, 64)
LIVE_EVENT_RATE = 20_000  # tokens and licenses a second for one customer (issue 18, docs/capacity.md)


def figure(
    name: str, value: float, unit: str, target: float | None = None, most: bool = True, least: bool = False
) -> dict[str, Any]:
    """``most``: the target is an upper bound (value <= target), else an exact count; ``least``: a lower bound."""
    met = None if target is None else (value >= target if least else value <= target if most else value == target)
    return {"name": name, "value": round(value, 4), "unit": unit, "target": target, "met": met}


def main() -> int:
    started = time.monotonic()
    figures: list[dict[str, Any]] = []

    print(f"service time: {SERVICE_CALLS} warm calls per route, DynamoDB stubbed in-process ...", file=sys.stderr)
    for drm, result in service.measure(SERVICE_CALLS).items():
        figures.append(figure(f"{drm} service time p50", result["p50_ms"], "ms", 0.3))
        figures.append(figure(f"{drm} service time p99", result["p99_ms"], "ms", 1.0))
        figures.append(figure(f"{drm} floor p50", result["floor_p50_ms"], "ms"))
        figures.append(figure(f"{drm} service / floor (p50)", result["p50_ms"] / result["floor_p50_ms"], "x", 5))
        # Where the ratio goes: the boto3 call (stubbed answer) against everything around it.
        around, floor = result["without_client_call_p50_ms"], result["floor_p50_ms"]
        figures.append(figure(f"{drm} boto3 TransactWriteItems call, stubbed (p50)", result["p50_ms"] - around, "ms"))
        figures.append(figure(f"{drm} service without the boto3 call / floor (p50)", around / floor, "x"))

    print(
        f"rights routes: {SERVICE_CALLS} warm redemptions per route, DynamoDB and back ends in-process ...",
        file=sys.stderr,
    )
    for route, result in rights.measure(SERVICE_CALLS).items():
        figures.append(figure(f"{route} rights service time p50", result["p50_ms"], "ms", 0.5))
        figures.append(figure(f"{route} rights service time p99", result["p99_ms"], "ms", 1.0))
        figures.append(
            figure(f"{route} rights floor p50 (open token, build back-end request)", result["floor_p50_ms"], "ms")
        )
        figures.append(figure(f"{route} rights service / floor (p50)", result["p50_ms"] / result["floor_p50_ms"], "x"))
    for case, counted in rights.calls_per_redemption().items():
        route, _, kind = case.partition(" ")
        dynamodb, back_end = RIGHTS_CALLS[kind]
        dynamodb += WIDEVINE_EXTRA_CALLS.get(kind, 0) if route == "wv" else 0
        figures.append(figure(f"{case}: DynamoDB calls", counted["dynamodb"], "calls", dynamodb, most=False))
        expected_back_end = 0 if route == "ck" else back_end  # Clear Key is answered in the function itself
        figures.append(figure(f"{case}: back-end calls", counted["back end"], "calls", expected_back_end, most=False))
        if "maxStreams" in kind or kind in ("success", "renewal of a maxUses token"):  # with and without a limit
            figures.append(figure(f"{case}: write units (items under 1 KB)", counted["writes"], "WCU"))

    print(f"key provider and held-key tokens: {KEY_CALLS} warm calls per case, DynamoDB stubbed ...", file=sys.stderr)
    for case, measured in keys.measure(KEY_CALLS).items():
        figures.append(figure(f"{case}: service time p50", measured["p50_ms"], "ms"))
        calls_made = len(measured["dynamodb"])
        figures.append(figure(f"{case}: DynamoDB calls", calls_made, "calls", KEY_CASE_CALLS[case], most=False))

    print(
        f"-2018 refusals: {REFUSAL_CALLS} interleaved pairs, DynamoDB's answer parsed by botocore ...", file=sys.stderr
    )
    timing = refusals.measure(REFUSAL_CALLS)
    figures.append(figure("-2018 wrong secret p50", timing["wrong_secret_p50_ms"], "ms"))
    figures.append(figure("-2018 unknown customer p50", timing["unknown_p50_ms"], "ms"))
    # Both refusals wait out the same floor: what is left is sleep jitter, not the customer's existence.
    figures.append(figure("-2018 wrong secret - unknown customer (p50)", timing["difference_us"], "us"))
    # Before the floor the wrong secret was slower in 290 of 400 pairs (0.72); a coin gives 0.5 +/- 0.05 (2 sigma).
    figures.append(figure("-2018 pairs where the wrong secret was slower", timing["wrong_slower_share"], "share", 0.55))

    print(f"cold start: {COLD_START_REPEATS} fresh interpreters each ...", file=sys.stderr)
    cold = coldstart.measure(COLD_START_REPEATS)
    boto3_ms = cold["boto3"]["import_ms"]
    figures.append(figure("import boto3", boto3_ms, "ms"))
    figures.append(
        figure(
            "widevine import + first request (boto3 loads lazily)",
            cold["widevine import + first request"]["import_ms"],
            "ms",
        )
    )
    for name in ("widevine handler", "fairplay handler"):
        figures.append(figure(f"{name} import", cold[name]["import_ms"], "ms"))
        figures.append(figure(f"{name} import / import boto3", cold[name]["import_ms"] / boto3_ms, "x", 1.5))
        figures.append(figure(f"{name} resident memory after import", cold[name]["rss_mb"], "MB", 80))

    print(f"cold start per Python (the Lambda runtime's choice): {COLD_START_REPEATS} runs each ...", file=sys.stderr)
    for version, per_python in runtimes.measure(COLD_START_REPEATS).items():
        if isinstance(per_python, str):  # not on this machine: said, never silently left out
            figures.append(
                {"name": f"python{version}: {per_python}", "value": 0, "unit": "", "target": None, "met": None}
            )
            continue
        figures.append(figure(f"python{version}: widevine handler import", per_python["import_ms"], "ms"))
        figures.append(figure(f"python{version}: import + first answer", per_python["first_answer_ms"], "ms"))
        figures.append(figure(f"python{version}: resident memory after import", per_python["rss_mb"], "MB", 80))
        figures.append(
            figure(f"python{version}: warm answer p50 (DynamoDB stubbed)", per_python["warm_answer_ms"], "ms")
        )

    print("DynamoDB calls per request ...", file=sys.stderr)
    expected = {"success": 1, "validation failure": 0, "auth failure": 1, "allowance used up": 1}
    for case, count in calls.measure().items():
        figures.append(figure(f"DynamoDB calls: {case}", count, "calls", expected[case], most=False))

    print(f"hot items: {HOTSPOT_REQUESTS} tokens and licenses of one customer, writes counted ...", file=sys.stderr)
    for case, result in hotspots.measure(HOTSPOT_SHARDS, HOTSPOT_REQUESTS).items():
        figures.append(figure(f"{case}: write units on the hottest item or key per 1,000", result["per_1000"], "WCU"))
        # The target applies where the design claims it: 64 shards for tokens; licenses do not depend on S.
        if "slots_per_1000" in result:  # a viewer's slots item, never the customer's: the hottest is a records key
            figures.append(
                figure(
                    f"{case}: write units on the hottest viewer's slots item per 1,000",
                    result["slots_per_1000"],
                    "WCU",
                    10,
                )
            )
            figures.append(
                figure(
                    f"{case}: the hottest is a records bucket (a key spread 32 ways), not an item",
                    float(str(result["key"]).startswith("partition ")),
                    "",
                    1,
                    most=False,
                )
            )
        target = LIVE_EVENT_RATE if case == "tokens, S=64" or case.startswith(("licenses", "renewals")) else None
        figures.append(
            figure(
                f"{case}: highest rate before one key passes 1,000 WCU/s", result["rate"], "req/s", target, least=True
            )
        )

    print(f"full path: drmtoken serve + DynamoDB Local, {FULL_PATH_REQUESTS} requests per level ...", file=sys.stderr)
    for clients, result in fullpath.measure(FULL_PATH_REQUESTS).items():
        figures.append(figure(f"full path {clients} clients: requests per second", result["rps"], "req/s"))
        figures.append(figure(f"full path {clients} clients: p99", result["p99_ms"], "ms"))
        figures.append(
            figure(f"full path {clients} clients: share waiting for DynamoDB", result["dynamodb_share"], "ratio")
        )

    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures)
    print(f"\n{len(figures)} figures in {time.monotonic() - started:.0f} s; written to {RESULTS}")
    return 0


def print_table(figures: list[dict[str, Any]]) -> None:
    width = max(len(f["name"]) for f in figures)
    print(f"\n{'figure':<{width}}  {'value':>10}  {'unit':<6} {'target':>8}  met")
    for f in figures:
        target = "" if f["target"] is None else f"{f['target']:g}"
        met = {True: "yes", False: "NO", None: ""}[f["met"]]
        print(f"{f['name']:<{width}}  {f['value']:>10.4g}  {f['unit']:<6} {target:>8}  {met}")


if __name__ == "__main__":
    sys.exit(main())
