"""The demo page of `make run`, on an origin of its own (another port), so CORS on the rights routes is real.

It serves the page, Shaka Player (the npm package in tools/shaka-player, pinned by its lock
file), the demo clips, and two endpoints only a demo has: ``/demo/token`` asks the API for a
Widevine token with the demo customer's authenticator (the browser never holds it) and
answers its Clear Key license URL and claims, never a key; ``/demo/record`` passes on
the customer's records of one cookie.

The two-key title is packaged the first time a page asks for it, the way AWS's packagers
work: a SPEKE v2.0 request to the key provider for a video and an audio key, Shaka Packager
run with the keys and PSSH boxes of its answer. Its tokens are asked for by ``contentId``.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import secrets
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from defusedxml import ElementTree

from drmtoken.core.pssh import COMMON_SYSTEM
from drmtoken.core.token import Keyring, open_token
from drmtoken_cli.speke_requests import speke_v2

from .demo import DEMO_AUTHENTICATOR, DEMO_CUSTOMER
from .media import DEMO_KEY, DEMO_KID_NAME, MANIFEST, title_media
from .standin import LoopbackService

PAGE_DIR = Path(__file__).resolve().parent / "demo-page"  # not a package: page files only
SHAKA = "tools/shaka-player/node_modules/shaka-player/dist/shaka-player.compiled.js"
CLIP = {"contentKey": DEMO_KEY, "kid": f"^{DEMO_KID_NAME}"}  # the single-key clip: the back end gives its key
DEMO_TITLE = "drmtoken-demo-title"
TITLE_KIDS = {  # fixed, so a kept engine keeps the title's keys
    track: str(uuid.uuid5(uuid.NAMESPACE_URL, f"drmtoken:{DEMO_TITLE}:{track}")) for track in ("VIDEO", "AUDIO")
}
CASES: dict[str, dict[str, str]] = {  # what /demo/token asks the token route for
    "good": CLIP,
    "other-kid": {**CLIP, "kid": "^another-title"},  # a token for another KID: its key cannot be asked for by this clip
    "expired": {**CLIP, "expirationTime": "+1"},  # the page waits it out before playing
    "once": {**CLIP, "maxUses": "1"},
    "renewing": {**CLIP, "renewalInterval": "60"},  # the page renews it every minute (sooner with ?renewEvery=)
    # A short rental, renewed: its renewals are refused once it ends, and the page stops the picture.
    "rental": {**CLIP, "rightsType": "Rental", "rental.periodEndTime": "+12", "renewalInterval": "60"},
    # At most two screens of one viewer (?viewer= names it): a third page is refused until a slot frees.
    "screens": {**CLIP, "renewalInterval": "60", "maxStreams": "2"},
    "title": {"contentId": DEMO_TITLE},  # every key the service holds for the title: picture and sound
    "title-video-only": {"kid": uuid.UUID(TITLE_KIDS["VIDEO"]).hex},  # the video key alone: no sound
}
HELD_KEY_CASES = ("title", "title-video-only")


class DemoSite(LoopbackService):
    def __init__(self, api_base: str, project_dir: Path, media_dir: Path, port: int = 0) -> None:
        self.api_base = api_base
        self.shaka = project_dir / SHAKA
        self.media_dir = media_dir
        self._packaging = threading.Lock()
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"{self.base}/"

    # --- the demo's two endpoints ------------------------------------------------------

    def token(self, case: str, viewer: str = "") -> dict[str, Any]:
        case = case if case in CASES else "good"
        manifest = f"media/{MANIFEST}"
        if case in HELD_KEY_CASES:
            manifest = f"media/title/{self.package_title().name}"
        cookie = f"demo-{secrets.token_hex(4)}"
        query = {
            "customerAuthenticator": DEMO_AUTHENTICATOR,
            "securityLevel": "1",
            "hdcpOutputControl": "0",
            "cookie": cookie,
            **CASES[case],
        }
        if case == "screens":
            query["userId"] = viewer or "demo-viewer"
        with urllib.request.urlopen(f"{self.api_base}/hms/wv/token?{urlencode(query)}", timeout=10) as answer:  # noqa: S310
            url = answer.read().decode()
        claims = open_token(Keyring.from_json(os.environ["TOKEN_KEYRING"]), url.split("=", 1)[1], now=float("-inf"))
        claims.pop("contentKey", None)  # the page shows the claims, never a key
        for held in claims.get("keys", []):
            held.pop("key", None)
        return {
            "licenseUrl": url.replace("/hms/wv/rights/", "/hms/ck/rights/"),
            "manifest": manifest,
            "claims": claims,
            "waitSeconds": 2 if case == "expired" else 0,
        }

    def package_title(self) -> Path:
        """The two-key title's manifest: its keys asked of the key provider as MediaPackage asks, then packaged."""
        with self._packaging:
            request = urllib.request.Request(  # noqa: S310 - this server's own API
                f"{self.api_base}/speke/{DEMO_CUSTOMER}",
                data=speke_v2(DEMO_TITLE, {kid: track for track, kid in TITLE_KIDS.items()}, (COMMON_SYSTEM,)),
                headers={"Content-Type": "application/xml", "X-Speke-Version": "2.0"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                tracks = tracks_from_answer(answer.read())
            return title_media(self.media_dir / "title", tracks)

    def records(self, cookie: str) -> bytes:
        query = urlencode({"customerAuthenticator": DEMO_AUTHENTICATOR, "cookie": cookie, "length": "10"})
        with urllib.request.urlopen(f"{self.api_base}/cmiapi/getrecord/?{query}", timeout=10) as answer:  # noqa: S310
            return bytes(answer.read())

    # --- files -----------------------------------------------------------------------------

    def file_for(self, path: str) -> Path | None:
        if path in ("/", "/index.html"):
            return PAGE_DIR / "index.html"
        if path == "/demo.js":
            return PAGE_DIR / "demo.js"
        if path == "/shaka-player.compiled.js":
            return self.shaka
        if path.startswith("/media/"):
            candidate = (self.media_dir / path.removeprefix("/media/")).resolve()
            if candidate.is_relative_to(self.media_dir.resolve()):
                return candidate
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(parts.query).items()}
                try:
                    if parts.path == "/demo/token":
                        self.answer(
                            200,
                            "application/json",
                            json.dumps(site.token(query.get("case", "good"), query.get("viewer", ""))).encode(),
                        )
                    elif parts.path == "/demo/record":
                        self.answer(200, "application/json", site.records(query.get("cookie", "")))
                    else:
                        found = site.file_for(parts.path)
                        if found is None or not found.is_file():
                            self.answer(404, "text/plain", b"not found")
                        else:
                            kind = (
                                "application/dash+xml"
                                if found.suffix == ".mpd"
                                else mimetypes.guess_type(found.name)[0]
                            )
                            self.answer(200, kind or "application/octet-stream", found.read_bytes())
                except (OSError, ValueError) as error:
                    self.answer(502, "text/plain", f"demo: {type(error).__name__}".encode())

            def answer(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the API's own access log is the one that matters."""

        return Handler


CPIX = "{urn:dashif:org:cpix}"


def tracks_from_answer(answer: bytes) -> dict[str, tuple[str, bytes, bytes]]:
    """From a SPEKE answer, per track ("video", "audio"): its KID in hex, its key, its W3C Common PSSH box."""
    document = ElementTree.fromstring(answer)
    track_of = {uuid.UUID(kid).hex: track.lower() for track, kid in TITLE_KIDS.items()}
    keys = {}
    for content_key in document.iter(f"{CPIX}ContentKey"):
        value = content_key.findtext(".//{urn:ietf:params:xml:ns:keyprov:pskc}PlainValue") or ""
        keys[uuid.UUID(content_key.get("kid")).hex] = base64.b64decode(value)
    tracks = {}
    for system in document.iter(f"{CPIX}DRMSystem"):
        if uuid.UUID(system.get("systemId")) == COMMON_SYSTEM:
            kid = uuid.UUID(system.get("kid")).hex
            tracks[track_of[kid]] = (kid, keys[kid], base64.b64decode(system.findtext(f"{CPIX}PSSH") or ""))
    return tracks
