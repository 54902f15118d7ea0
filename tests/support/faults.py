"""Network faults between the service and DynamoDB, for tests that prove billing is exact under them.

``AnswerDropper`` is a loopback HTTP proxy in front of a DynamoDB endpoint: it forwards
every request, and for the first ``count`` calls of the given operations it lets the engine
execute the call (the write commits) but closes the client's connection instead of
passing the answer on, as a lost packet or a reset connection would.
"""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from drmtoken_cli.devserver.net import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class AnswerDropper:
    def __init__(self, upstream: str, operations: tuple[str, ...], count: int = 1) -> None:
        self.upstream = urlsplit(upstream)
        self.targets = {f"DynamoDB_20120810.{operation}" for operation in operations}
        self.to_drop = count
        self.seen: list[str] = []  # X-Amz-Target of every forwarded call, in order
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AnswerDropper:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _should_drop(self, target: str) -> bool:
        with self._lock:
            self.seen.append(target)
            if target in self.targets and self.dropped < self.to_drop:
                self.dropped += 1
                return True
            return False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=30
                )
                try:
                    upstream.request("POST", self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                if proxy._should_drop(self.headers.get("X-Amz-Target", "")):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # the write committed; its answer is lost
                    return
                self.send_response_only(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``seen`` instead."""

        return Handler
