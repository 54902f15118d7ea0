"""Reading the functions' EMF lines back, checked against the embedded metric format."""

from __future__ import annotations

import json
import time
from typing import Any


def emf_lines(text: str) -> list[dict[str, Any]]:
    """The stdout lines that are EMF records, checked against the EMF specification."""
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    emf = [record for record in records if "_aws" in record]
    for record in emf:
        metadata = record["_aws"]
        assert isinstance(metadata["Timestamp"], int)
        assert abs(metadata["Timestamp"] - time.time() * 1000) < 60_000
        for directive in metadata["CloudWatchMetrics"]:
            assert directive["Namespace"] == "DrmTokenService"
            for dimension_set in directive["Dimensions"]:
                assert all(isinstance(record[name], str) for name in dimension_set)  # each a string member
            for metric in directive["Metrics"]:
                assert metric["Unit"] == "Count" and isinstance(record[metric["Name"]], int | float)
    return emf
