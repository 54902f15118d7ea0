"""The whole loop in a real browser: Debian's Chromium plays the demo clip with a key that went through the service.

`drmtoken serve` (as `make run` starts it) serves the API and, on another origin, the demo
page: Shaka Player gets a Widevine token through the demo server and its Clear Key license
from /hms/ck/rights/. Frames must be decoded (not merely currentTime moving) for the good
token, and none for a token of another KID, an expired token, or a maxUses=1 token played twice.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.browser import chromium, remove_profile, require_browser_tools
from tests.support.lambdas import ROOT
from tests.support.server import Server, start_server

pytestmark = pytest.mark.browser
LICENSE_REQUEST_FAILED = 6007  # shaka.util.Error.Code: the license server refused
SCREENSHOT = ROOT / "docs" / "demo-playing.png"


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Server, str]]:
    require_browser_tools()
    server = start_server({})  # make run's set-up: embedded storage, demo customer, stand-ins, the demo page
    banner = "".join(server.stderr)
    found = re.search(r"demo page: (http://127\.0\.0\.1:\d+/)", banner)
    assert found, banner
    yield server, found.group(1)
    assert server.stop() == 0


@pytest.fixture(scope="module")
def browser(demo: tuple[Server, str]) -> Iterator[Any]:
    driver = chromium()
    yield driver
    driver.quit()
    remove_profile(driver)


def watch(browser: Any, url: str, frames_wanted: int = 40, seconds: float = 12) -> dict[str, Any]:
    """Load the page and follow window.demo until enough frames are decoded, an error shows, or time is up."""
    browser.get(url)
    deadline = time.monotonic() + seconds
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        time.sleep(0.25)
        state = browser.execute_script("return window.demo") or {}
        if state.get("frames", 0) >= frames_wanted or state.get("error") is not None:
            break
    state["shown"] = browser.find_element("id", "state").text
    return state


def test_the_clip_plays_with_the_services_key_and_stops_when_it_should(demo: tuple[Server, str], browser: Any) -> None:
    server, page = demo
    good = watch(browser, f"{page}?case=good")
    assert good["error"] is None and good["frames"] >= 40, good
    assert "playing" in good["shown"]
    assert "contentKey" not in good["claims"] and good["claims"]["kid"] == "3072c61ebb18e98df452091d6babd231"
    if os.environ.get("DRMTOKEN_UPDATE_SCREENSHOT"):  # the README's picture, taken here
        browser.save_screenshot(str(SCREENSHOT))
    seen = {"good": good["frames"]}
    for case in ("other-kid", "expired"):
        refused = watch(browser, f"{page}?case={case}")
        assert refused["error"] == LICENSE_REQUEST_FAILED and refused["frames"] == 0, (case, refused)
        assert str(LICENSE_REQUEST_FAILED) in refused["shown"]
        seen[case] = refused["frames"]
    once = watch(browser, f"{page}?case=once")
    assert once["error"] is None and once["frames"] > 0, once
    again = watch(browser, f"{page}?license={quote(once['licenseUrl'], safe='')}")
    assert again["error"] == LICENSE_REQUEST_FAILED and again["frames"] == 0, again
    seen["once, played twice"] = again["frames"]
    log = "".join(server.stderr)
    assert "POST /hms/ck/rights/ 400 -4022" in log and "401 -4010" in log and "403 -4010" in log
    print(f"frames decoded: {seen}")


def test_the_readme_shows_the_demo_playing() -> None:
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
    assert f"]({SCREENSHOT.relative_to(ROOT)})" in (ROOT / "README.md").read_text()


def test_the_clip_is_made_here_never_committed() -> None:
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in tracked if Path(name).suffix in (".mp4", ".m4s", ".mpd", ".webm")]
