"""The demo page of `make run`, on an origin of its own (another port), so CORS on the rights routes is real.

It serves the page, Shaka Player (the npm package in tools/shaka-player, pinned by its lock
file), the demo clip, and two endpoints only a demo has: ``/demo/token`` asks the API for a
Widevine token with the demo customer's authenticator (the browser never holds it) and
answers its Clear Key license URL and claims, never the key; ``/demo/record`` passes on
the customer's records of one cookie.
"""

from __future__ import annotations

import json
import mimetypes
import os
import secrets
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from drmtoken.core.token import Keyring, open_token

from .demo import DEMO_AUTHENTICATOR
from .media import DEMO_KEY, DEMO_KID_NAME
from .standin import LoopbackService

PAGE_DIR = Path(__file__).resolve().parent / "demo-page"  # not a package: page files only
SHAKA = "tools/shaka-player/node_modules/shaka-player/dist/shaka-player.compiled.js"
CASES = {  # what /demo/token asks the token route for
    "good": {"kid": f"^{DEMO_KID_NAME}"},
    "other-kid": {"kid": "^another-title"},  # a token for another KID: its key cannot be asked for by this clip
    "expired": {"kid": f"^{DEMO_KID_NAME}", "expirationTime": "+1"},  # the page waits it out before playing
    "once": {"kid": f"^{DEMO_KID_NAME}", "maxUses": "1"},
}


class DemoSite(LoopbackService):
    def __init__(self, api_base: str, project_dir: Path, media_dir: Path, port: int = 0) -> None:
        self.api_base = api_base
        self.shaka = project_dir / SHAKA
        self.media_dir = media_dir
        super().__init__(port)

    @property
    def url(self) -> str:
        return f"{self.base}/"

    # --- the demo's two endpoints ------------------------------------------------------

    def token(self, case: str) -> dict[str, Any]:
        cookie = f"demo-{secrets.token_hex(4)}"
        query = {
            "customerAuthenticator": DEMO_AUTHENTICATOR,
            "contentKey": DEMO_KEY,
            "securityLevel": "1",
            "hdcpOutputControl": "0",
            "cookie": cookie,
            **CASES.get(case, CASES["good"]),
        }
        with urllib.request.urlopen(f"{self.api_base}/hms/wv/token?{urlencode(query)}", timeout=10) as answer:  # noqa: S310
            url = answer.read().decode()
        claims = open_token(Keyring.from_json(os.environ["TOKEN_KEYRING"]), url.split("=", 1)[1], now=float("-inf"))
        claims.pop("contentKey")  # the page shows the claims, never the key
        return {
            "licenseUrl": url.replace("/hms/wv/rights/", "/hms/ck/rights/"),
            "claims": claims,
            "waitSeconds": 2 if case == "expired" else 0,
        }

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
                        self.answer(200, "application/json", json.dumps(site.token(query.get("case", "good"))).encode())
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
