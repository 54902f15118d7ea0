"""Logging, metrics and tracing, set up once for the whole layer.

Each request writes exactly one line: an EMF record, which CloudWatch turns into the
TokensIssued or TokensRejected metric, carrying what is known about the request (ids,
customer, kid, cookie, outcome) as properties that Logs Insights can query. One line,
not a log line plus a metric line: half the log ingestion, one JSON encoding.
It is written here rather than with powertools Metrics: profiled, a powertools log line
cost ~100 us and powertools Metrics ~50 us of a warm request, against ~10 us for this.
The powertools Logger is kept for what an operator must act on: failed dependencies
and unexpected errors.

Tracing is opt-in (POWERTOOLS_TRACE_DISABLED=false): the X-Ray SDK costs a large
share of a cold start, so it is imported only when a deployment turns tracing on.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

# The powertools variables, so any powertools metric added later lands beside these.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "drm-token"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DrmTokenService"
ISSUED, REJECTED = "TokensIssued", "TokensRejected"
TOKEN_METRICS = (ISSUED, REJECTED)
LICENSE_METRICS = ("LicensesIssued", "LicensesRefused")  # the rights side's line
KEY_METRICS = ("KeysProvided", "KeyRequestsRefused")  # the key provider's line

logger = Logger(service=SERVICE)


def request_record(
    drm: str, code: int, status: int, facts: dict[str, Any], now_ms: int, metrics: tuple[str, str] = TOKEN_METRICS
) -> dict[str, Any]:
    """The request's EMF record: TokensIssued by (service, drm), or TokensRejected by (service, drm, code).

    ``metrics`` names the pair for the rights side (LicensesIssued, LicensesRefused).
    ``facts`` go first, so they can never overwrite a dimension or the metric.
    """
    metric = metrics[0] if code == 0 else metrics[1]
    dimensions = ["service", "drm"] if code == 0 else ["service", "drm", "code"]
    directive = {"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": [{"Name": metric, "Unit": "Count"}]}
    return {
        **facts,
        "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [directive]},
        "service": SERVICE,
        "drm": drm,
        "code": str(code),  # a string, as a dimension value must be
        "status": status,
        metric: 1,
    }


def record_request(
    drm: str, code: int, status: int, facts: dict[str, Any], metrics: tuple[str, str] = TOKEN_METRICS
) -> None:
    """Write the request's line to stdout (the function's log). ``facts`` must hold nothing secret."""
    record = request_record(drm, code, status, facts, int(time.time() * 1000), metrics)
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() == "false"


def lambda_entry(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a Lambda handler with tracing when a deployment turns it on."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    # The response holds the token: never copy it into a trace.
    return Tracer(service=SERVICE).capture_lambda_handler(handler, capture_response=False)
