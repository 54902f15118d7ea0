"""What every local server of the dev tools shares: HTTP on 127.0.0.1 in a thread, started and stopped alike.

By default it answers POSTs with ``answer_post`` (the stand-ins); a subclass with other
needs (the demo site, the tests' fault proxy) overrides ``_handler`` alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from .net import free_port


@dataclass(frozen=True)
class Trickle:
    """An answer sent as a misbehaving back end sends it: its headers, then one byte every ``seconds``."""

    payload: bytes
    seconds: float = 0.5
    ending: str = ""  # "": HTTP/1.1 kept alive; HTTP_10: an HTTP/1.0 answer; CLOSE: HTTP/1.1 with Connection: close


HTTP_10 = "HTTP/1.0"
CLOSE = "close"


def trickle(marker: bytes, payload: bytes) -> Trickle:
    """The trickle a ``TRICKLE`` marker asks for: ``TRICKLE10`` answers HTTP/1.0, ``TRICKLECLOSE`` closes after it."""
    rest = marker[len(b"TRICKLE") :]
    ending = HTTP_10 if rest.startswith(b"10") else CLOSE if rest.startswith(b"CLOSE") else ""
    return Trickle(payload, ending=ending)


def deep_json(levels: int = 3000) -> bytes:
    """Valid JSON nested ``levels`` deep: what a hostile or broken back end may answer."""
    return b"[" * levels + b"]" * levels


class LoopbackService:
    """A loopback HTTP server; subclasses answer one POSTed body with (status, content type, payload)."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer_post(self, body: bytes) -> tuple[int, str, bytes | Trickle]:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                status, content_type, answer = service.answer_post(
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                )
                payload = answer.payload if isinstance(answer, Trickle) else answer
                ending = answer.ending if isinstance(answer, Trickle) else ""
                try:
                    if ending == HTTP_10:
                        self.protocol_version = HTTP_10  # the status line, and the connection closes after
                    self.send_response_only(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    if ending:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    if isinstance(answer, Trickle):
                        for index in range(len(payload)):
                            self.wfile.write(payload[index : index + 1])
                            self.wfile.flush()
                            time.sleep(answer.seconds)
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped waiting (a timeout test): nothing to tell

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: what a stand-in saw is in its ``seen``."""

        return Handler
