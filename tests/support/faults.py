"""Network faults between the service and DynamoDB, for tests that prove billing is exact under them.

``AnswerDropper`` is a loopback HTTP proxy in front of a DynamoDB endpoint: it forwards
every request, and for the first ``count`` calls of the given operations it lets the engine
execute the call (the write commits) but closes the client's connection instead of
passing the answer on, as a lost packet or a reset connection would. ``skip`` lets that
many of those calls through first (to lose the answers of a later call, a settle after its
reservation). With ``hold`` seconds, those calls are not dropped but held: each reaches the
engine that late and commits then, after the client has timed out and tried again, as a
write stuck in a congested network would.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from drmtoken_cli.devserver.standin import LoopbackService

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class AnswerDropper(LoopbackService):
    def __init__(
        self, upstream: str, operations: tuple[str, ...], count: int = 1, skip: int = 0, hold: float = 0.0
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.targets = {f"DynamoDB_20120810.{operation}" for operation in operations}
        self.to_drop = count
        self.to_skip = skip
        self.hold = hold
        self.seen: list[str] = []  # X-Amz-Target of every forwarded call, in order
        self.dropped = 0
        self._lock = threading.Lock()
        super().__init__()

    @property
    def endpoint(self) -> str:
        return self.base

    def _should_drop(self, target: str) -> bool:
        with self._lock:
            self.seen.append(target)
            if target in self.targets and self.to_skip:
                self.to_skip -= 1
            elif target in self.targets and self.dropped < self.to_drop:
                self.dropped += 1
                return True
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                faulty = proxy._should_drop(self.headers.get("X-Amz-Target", ""))
                if faulty and proxy.hold:
                    time.sleep(proxy.hold)  # the client gives up and retries meanwhile; this one still lands
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=30
                )
                try:
                    upstream.request("POST", self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                if faulty:
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
