"""Debian's Chromium, headless, driven by Selenium through Debian's chromium-driver (always the browser's version)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.lambdas import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHAKA = ROOT / "tools" / "shaka-player" / "node_modules" / "shaka-player" / "dist" / "shaka-player.compiled.js"
# As root Chromium needs --no-sandbox; the rest keeps it off a network this machine does not have.
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1000,760",
)


def require_browser_tools() -> None:
    """Skip (one line) where the tools cannot be installed; in CI they must be there."""
    from drmtoken_cli.devserver.media import missing_tools

    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()] + missing_tools()
    if not SHAKA.exists():
        missing.append("Shaka Player (npm ci --prefix tools/shaka-player)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        message = "browser test needs " + ", ".join(missing) + " (make test installs them where apt and root are)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={make_profile()}")
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def make_profile() -> str:
    import tempfile

    profile = tempfile.mkdtemp(prefix="drmtoken-chromium-")
    return profile


def remove_profile(driver: Any) -> None:
    for argument in driver.capabilities.get("goog:chromeOptions", {}).get("args", []) or []:
        if str(argument).startswith("--user-data-dir="):
            shutil.rmtree(str(argument).split("=", 1)[1], ignore_errors=True)
