"""Tracing costs nothing unless a deployment turns it on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import FUNCTIONS

PROBE = """
import sys
sys.path[:0] = [{code!r}, {layer!r}]
import app
print("aws_xray_sdk" in sys.modules)
"""


@pytest.mark.parametrize(("disabled", "loads_xray"), [("true", "False"), ("false", "True")])
def test_xray_loads_only_when_tracing_is_on(disabled: str, loads_xray: str) -> None:
    spec = FUNCTIONS["WidevineFunction"]
    layer = str(spec.code_dir.parents[1] / "layers" / "drmtoken")
    code = PROBE.format(code=str(spec.code_dir), layer=layer)
    env = {"POWERTOOLS_TRACE_DISABLED": disabled, "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == loads_xray
