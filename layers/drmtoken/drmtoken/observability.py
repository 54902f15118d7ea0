"""Logger, metrics and tracing, created once for the whole layer.

Tracing is opt-in (POWERTOOLS_TRACE_DISABLED=false): the X-Ray SDK costs a large
share of a cold start, so it is imported only when a deployment turns tracing on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "drm-token"
NAMESPACE = "DrmTokenService"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_outcome(drm: str, code: int | None) -> None:
    """One metric per request: TokensIssued by DRM, or TokensRejected by DRM and code."""
    metrics.add_dimension(name="drm", value=drm)
    if code is None:
        metrics.add_metric(name="TokensIssued", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_dimension(name="code", value=str(code))
        metrics.add_metric(name="TokensRejected", unit=MetricUnit.Count, value=1)


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() == "false"


def lambda_entry(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a Lambda handler with the layer's logging, metrics and (when on) tracing."""
    wrapped = metrics.log_metrics(logger.inject_lambda_context(clear_state=True)(handler))
    if tracing_enabled():
        from aws_lambda_powertools import Tracer

        # The response holds the token: never copy it into a trace.
        wrapped = Tracer(service=SERVICE).capture_lambda_handler(wrapped, capture_response=False)
    return wrapped
