"""The whole loop in a real browser: Debian's Chromium plays the demo clip with a key that went through the service.

`drmtoken serve` (as `make run` starts it) serves the API and, on another origin, the demo
page: Shaka Player gets a Widevine token through the demo server and its Clear Key license
from /hms/ck/rights/. Frames must be decoded (not merely currentTime moving) for the good
token, and none for a token of another KID, an expired token, or a maxUses=1 token played twice.

The two-key title goes the way AWS's packagers go: the demo server asks the key provider for a
video and an audio key with a SPEKE v2.0 request, packages the clip with them and the answer's
PSSH boxes, and asks for tokens by ``contentId``. Both keys: frames and sound decoded. The video
key alone: frames, no sound. Another customer cannot have a token for the title's keys.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from drmtoken_cli.devserver.demo_site import DEMO_TITLE, TITLE_KIDS
from tests.support.browser import chromium, remove_profile, require_browser_tools
from tests.support.cli import drmtoken
from tests.support.lambdas import ROOT
from tests.support.server import Server, http, start_server

pytestmark = pytest.mark.browser
LICENSE_REQUEST_FAILED = 6007  # shaka.util.Error.Code: the license server refused
AUDIO_BYTES_WANTED = 4000  # about half a second of the title's 64 kbit/s AAC
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


def watch(
    browser: Any, url: str, frames_wanted: int = 40, seconds: float = 12, sound_wanted: int = 0
) -> dict[str, Any]:
    """Load the page and follow window.demo until enough frames are decoded, an error shows, or time is up."""
    browser.get(url)
    deadline = time.monotonic() + seconds
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        time.sleep(0.25)
        state = browser.execute_script("return window.demo") or {}
        if state.get("frames", 0) >= frames_wanted and state.get("audioBytes", 0) >= sound_wanted:
            break
        if state.get("error") is not None:
            break
    state["shown"] = browser.find_element("id", "state").text
    return state


def test_the_clip_plays_with_the_services_key_and_stops_when_it_should(demo: tuple[Server, str], browser: Any) -> None:
    server, page = demo
    good = watch(browser, f"{page}?case=good")
    assert good["error"] is None and good["frames"] >= 40, good
    assert "playing" in good["shown"]
    assert "contentKey" not in good["claims"] and good["claims"]["kid"] == "3072c61ebb18e98df452091d6babd231"
    # The dates a person reads: the token's expiry and the records' times, each within a day of now.
    deadline = time.monotonic() + 10
    while "T" not in browser.find_element("id", "records").text and time.monotonic() < deadline:
        time.sleep(0.25)  # the page reads the records a second after the license
    claims_text, records_text = (browser.find_element("id", name).text for name in ("claims", "records"))

    def dates(text: str, name: str) -> list[float]:
        stamps = re.findall(rf'"{name}": "(\d{{4}}-\d\d-\d\dT[\d:.]+Z)"', text)
        return [datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() for stamp in stamps]

    now, day = time.time(), 86400
    issued, expires, recorded = (
        dates(claims_text, "issuedAt"),
        dates(claims_text, "expiresAt"),
        dates(records_text, "time"),
    )
    assert len(issued) == len(expires) == 1 and recorded, (claims_text, records_text)
    assert all(abs(when - now) < day for when in issued + recorded), (claims_text, records_text)
    assert now < expires[0] < now + 31 * day, claims_text  # a token lives at most 30 days
    if os.environ.get("DRMTOKEN_UPDATE_SCREENSHOT"):  # the README's picture, taken here
        browser.save_screenshot(str(SCREENSHOT))
    seen = {"good": good["frames"]}
    for case in ("other-kid", "expired"):
        refused = watch(browser, f"{page}?case={case}")
        assert refused["error"] == LICENSE_REQUEST_FAILED and refused["frames"] == 0, (case, refused)
        assert str(LICENSE_REQUEST_FAILED) in refused["shown"]
        said = refused["service"]  # the page shows the service's own code and reason, not Shaka's alone
        assert said["code"] in (-4023, -4010) and said["message"] in refused["shown"], refused
        seen[case] = refused["frames"]
    once = watch(browser, f"{page}?case=once")
    assert once["error"] is None and once["frames"] > 0, once
    again = watch(browser, f"{page}?license={quote(once['licenseUrl'], safe='')}")
    assert again["error"] == LICENSE_REQUEST_FAILED and again["frames"] == 0, again
    assert again["service"]["status"] == 403 and "403 -4010" in again["shown"], again
    seen["once, played twice"] = again["frames"]
    log = "".join(server.stderr)
    assert "POST /hms/ck/rights/ 400 -4023" in log and "401 -4010" in log and "403 -4010" in log
    print(f"frames decoded: {seen}")


def test_a_two_key_title_from_the_key_provider_plays_picture_and_sound_with_a_token_by_content(
    demo: tuple[Server, str], browser: Any
) -> None:
    server, page = demo
    engine = re.search(r"DynamoDB \(moto\) at (http://127\.0\.0\.1:\d+)", "".join(server.stderr))
    assert engine, server.stderr
    storage = {"AWS_ENDPOINT_URL_DYNAMODB": engine.group(1)}
    drmtoken("customers", "create", "other", env=storage)
    added = drmtoken("authenticators", "add", "other", "--environment", "test", env=storage)
    other_authenticator = added.stdout.strip()
    both = watch(
        browser, f"{page}?case=title", seconds=40, sound_wanted=AUDIO_BYTES_WANTED
    )  # the first asks for the keys and packages the title
    assert both["error"] is None and both["frames"] >= 40 and both["audioBytes"] >= AUDIO_BYTES_WANTED, both
    kids = {uuid.UUID(kid).hex for kid in TITLE_KIDS.values()}
    keys = both["claims"]["keys"]
    assert {key["kid"] for key in keys} == kids and not [key for key in keys if "key" in key]
    assert [key.get("track") for key in keys if key["kid"] == uuid.UUID(TITLE_KIDS["AUDIO"]).hex] == ["AUDIO"]
    assert both["claims"]["contentId"] == DEMO_TITLE

    before = len(server.stderr)
    video_only = watch(browser, f"{page}?case=title-video-only", seconds=8, sound_wanted=1)
    asked = "".join(server.stderr[before:])  # the video key given, the audio key refused (no KID of it in the token)
    assert "POST /hms/ck/rights/ 200" in asked and "POST /hms/ck/rights/ 400 -4023" in asked, asked
    assert [key["kid"] for key in video_only["claims"]["keys"]] == [uuid.UUID(TITLE_KIDS["VIDEO"]).hex]
    assert video_only["audioBytes"] == 0, video_only  # no key, no sound

    # Another customer's token for the title or its keys: nothing it holds, refused before any charge.
    other = server.base + "/hms/wv/token?customerAuthenticator=" + other_authenticator
    for asked in (f"contentId={DEMO_TITLE}", "kid=" + both["claims"]["keys"][0]["kid"]):
        status, _, body = http("GET", f"{other}&{asked}&securityLevel=1&hdcpOutputControl=0")
        assert status == 400 and "Error -4019" in body, (asked, body)
    assert "POST /speke/demo 200" in "".join(server.stderr)  # the packager step went through the key provider
    print(
        f"two-key title: both keys {both['frames']} frames, {both['audioBytes']} bytes of sound; video key alone "
        f"{video_only['frames']} frames, {video_only['audioBytes']} bytes of sound"
    )


def test_a_rental_plays_through_its_renewals_and_stops_when_a_renewal_is_refused(
    demo: tuple[Server, str], browser: Any
) -> None:
    server, page = demo
    browser.get(f"{page}?case=rental&renewEvery=2")  # a 12-second rental, renewed every 2 s by the page
    deadline, trail = time.monotonic() + 30, []
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        time.sleep(0.25)
        state = browser.execute_script("return window.demo") or {}
        trail.append((state.get("renewals", 0), state.get("frames", 0)))
        if state.get("stopped") or state.get("error") is not None:
            break
    assert state.get("error") is None and state.get("stopped"), state
    # Frames kept coming while the license was renewed: more after the third renewal than before the first.
    before_first = max(frames for renewals, frames in trail if renewals == 0)
    after_third = max(frames for renewals, frames in trail if renewals >= 3)
    assert state["renewals"] >= 3 and after_third > before_first > 0, trail
    assert state["renewalRefused"]["status"] == 403 and state["renewalRefused"]["code"] == -4031, state
    shown = browser.find_element("id", "state").text
    assert "renewal refused" in shown and "-4031" in shown, shown
    paused = browser.execute_script("return document.getElementById('video').paused")
    assert paused, "the picture goes on after a refused renewal"
    log = "".join(server.stderr)
    assert log.count("POST /hms/ck/rights/ 200") >= 1 + state["renewals"] and "403 -4031" in log
    print(f"rental: {state['renewals']} renewals of stream {state['stream']}, then 403 -4031; frames {trail[-1][1]}")


def follow(browser: Any, until: Any, seconds: float) -> dict[str, Any]:
    """window.demo of the current window, once ``until(state)`` holds or the time is up."""
    deadline, state = time.monotonic() + seconds, dict[str, Any]()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        state = browser.execute_script("return window.demo") or {}
        if until(state):
            break
    state["shown"] = browser.find_element("id", "state").text
    return state


def playing(state: dict[str, Any]) -> bool:
    return state.get("frames", 0) >= 20 or state.get("error") is not None


def test_two_screens_play_a_third_waits_for_a_free_slot_and_an_ended_stream_stops(
    demo: tuple[Server, str], browser: Any
) -> None:
    """maxStreams=2 for one viewer in three Chromium windows (docs/rights-api.md, "Streams")."""
    server, page = demo
    viewer = f"viewer-{uuid.uuid4().hex[:8]}"
    url = f"{page}?case=screens&viewer={viewer}&renewEvery=2"
    windows: list[str] = []
    for _ in range(3):
        if windows:
            browser.switch_to.new_window("window")
        windows.append(browser.current_window_handle)
        browser.get(url)
        state = follow(browser, playing, 20)
    first_two = []
    for window in windows[:2]:
        browser.switch_to.window(window)
        first_two.append(follow(browser, playing, 5))
    assert all(s.get("error") is None and s["frames"] >= 20 for s in first_two), first_two
    assert state.get("service", {}).get("code") == -4033 and "-4033" in state["shown"], state

    browser.switch_to.window(windows[0])
    browser.close()  # the first screen goes away: its renewals stop, its slot lives out its interval and grace
    closed_at = time.monotonic()
    browser.switch_to.window(windows[2])
    browser.get(url)
    still = follow(browser, playing, 10)
    assert still.get("service", {}).get("code") == -4033, still  # not yet: the slot frees itself only later
    time.sleep(max(0.0, closed_at + 60 + 60 + 2 - time.monotonic()))  # renewalInterval + the grace
    browser.get(url)
    waited = time.monotonic() - closed_at
    third = follow(browser, playing, 20)
    assert third.get("error") is None and third["frames"] >= 20, third

    engine = re.search(r"DynamoDB \(moto\) at (http://127\.0\.0\.1:\d+)", "".join(server.stderr))
    assert engine, server.stderr
    storage = {"AWS_ENDPOINT_URL_DYNAMODB": engine.group(1)}
    listed = json.loads(drmtoken("streams", "demo", viewer, "--json", env=storage).stdout)
    assert sorted(s["id"] for s in listed) == sorted([first_two[1]["stream"], third["stream"]]), listed
    drmtoken("streams", "end", "demo", viewer, first_two[1]["stream"], env=storage)
    browser.switch_to.window(windows[1])
    ended = follow(browser, lambda s: bool(s.get("stopped")), 10)
    assert ended["renewalRefused"]["code"] == -4034 and "-4034" in ended["shown"], ended
    assert browser.execute_script("return document.getElementById('video').paused")
    browser.close()
    browser.switch_to.window(windows[2])
    assert follow(browser, lambda s: False, 3).get("stopped") is False  # the third plays on
    print(f"screens: 2 played, the third refused -4033, then played {waited:.0f} s after one closed; ended -4034")


def test_chromium_says_whether_clear_key_keeps_persistent_licenses(demo: tuple[Server, str], browser: Any) -> None:
    """What Debian's Chromium answers for a Clear Key persistent-license session (the closing note reports it)."""
    _, page = demo
    browser.get(page)
    answer = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        navigator.requestMediaKeySystemAccess('org.w3.clearkey', [{
          initDataTypes: ['cenc', 'keyids'],
          videoCapabilities: [{contentType: 'video/mp4; codecs="avc1.42E01E"'}],
          sessionTypes: ['persistent-license'],
        }]).then((access) => done('supported: ' + JSON.stringify(access.getConfiguration().sessionTypes)),
                 (error) => done(error.name + ': ' + error.message));
        """
    )
    print(f"Chromium, Clear Key persistent-license: {answer}")
    # Chromium's Clear Key keeps no licenses: a page cannot play a rental from a stored one. Should a
    # later Chromium keep them, this fails, and the stored-license playback test is to be written.
    assert answer.startswith("NotSupportedError"), answer


def test_the_readme_shows_the_demo_playing() -> None:
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
    assert f"]({SCREENSHOT.relative_to(ROOT)})" in (ROOT / "README.md").read_text()


def test_the_clip_is_made_here_never_committed() -> None:
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in tracked if Path(name).suffix in (".mp4", ".m4s", ".mpd", ".webm")]
