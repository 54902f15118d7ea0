"""The local commands run on CPython 3.11 to 3.13: tools/find-python picks one, or says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIND = ROOT / "tools" / "find-python"


def find(*versions: str, python: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHON"}
    if python is not None:
        env["PYTHON"] = python
    return subprocess.run([str(FIND), *versions], capture_output=True, text=True, env=env, timeout=60, check=False)


def running() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_it_finds_the_python_these_tests_run_on() -> None:
    found = find(running())
    assert found.returncode == 0, found.stderr
    probe = subprocess.run([found.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True)
    assert probe.stdout.decode().strip() == str(sys.version_info[:2])


def test_with_no_choice_it_picks_a_supported_one_newest_first() -> None:
    found = find()
    assert found.returncode == 0
    version = subprocess.run(
        [found.stdout.strip(), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert version in ("3.11", "3.12", "3.13") and version >= running()


@pytest.mark.parametrize("python", ["/nonexistent/python3", sys.executable + "-not-there"])
def test_a_python_that_does_not_run_is_refused_with_a_reason(python: str) -> None:
    found = find(python=python)
    assert found.returncode == 1 and found.stdout == ""
    assert "not a CPython 3.11 to 3.13" in found.stderr


def test_the_given_python_is_used_when_it_fits() -> None:
    found = find(python=sys.executable)
    assert found.returncode == 0 and Path(found.stdout.strip()).name.startswith("python")


def test_an_unsupported_version_says_what_to_install() -> None:
    found = find("3.9")
    assert found.returncode == 1 and "pyenv install 3.13" in found.stderr and "apt-get install" in found.stderr


def test_the_package_declares_the_same_versions() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.14"' in text
    assert 'SUPPORTED="3.13 3.12 3.11"' in FIND.read_text()
