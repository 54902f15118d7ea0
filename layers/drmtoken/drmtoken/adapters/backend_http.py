"""One POST to a license back end (the Widevine service, a KSM by URL), bounded as a whole.

urllib3 bounds each socket read, not a call: a back end sending a byte a second would hold
a redemption for as long as it liked. Here a watchdog shuts the connection's socket at the
call's deadline (the time the function can give it), whatever phase the call is in, and
the answer is read only up to MAX_ANSWER_BYTES. No retry: a retried getlicense could make
two licenses of one request. Every failure is DependencyError (503); its reason names no
byte of the answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from drmtoken.core.errors import DependencyError
from drmtoken.core.untrusted import MAX_ANSWER_BYTES

CONNECT_SECONDS = 1.0
MIN_SECONDS = 0.2  # less time than this left: do not start a call that cannot finish
_calling = threading.local()  # the call this thread is making, so its connection can be watched


@dataclass
class _Call:
    sock: Any = None
    cut: bool = False

    def cut_off(self) -> None:
        """At the deadline: shut the socket, so whatever read is waiting returns now."""
        self.cut = True
        if self.sock is not None:
            with contextlib.suppress(OSError):  # already closed
                self.sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """A connection that tells the call under way which socket it uses, so the watchdog can shut it.

    The socket itself is kept, not the connection: when an answer says the connection will
    close (HTTP/1.0, ``Connection: close``), http.client hands the socket to the response and
    the connection forgets it, while the body is still being read.
    """

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # the connection class beside it
        self._watch()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._watch()  # a kept-alive connection from the pool is connected already
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _watch(self) -> None:
        call = getattr(_calling, "call", None)
        sock = getattr(self, "sock", None)
        if call is not None and sock is not None:
            call.sock = sock


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


def pool_manager() -> urllib3.PoolManager:
    manager = urllib3.PoolManager(retries=False)
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


def post(manager: urllib3.PoolManager, url: str, body: bytes, deadline: float, who: str) -> tuple[int, bytes]:
    """POST JSON; (status, answer bytes) when the whole answer came by ``deadline`` (time.monotonic())."""
    left = deadline - time.monotonic()
    if left < MIN_SECONDS:
        raise DependencyError(f"{who}: no time left to ask")
    call = _Call()
    watchdog = threading.Timer(left, call.cut_off)
    watchdog.daemon = True
    _calling.call = call
    watchdog.start()
    try:
        response = manager.request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json", "Accept-Encoding": "identity"},
            timeout=urllib3.Timeout(connect=min(CONNECT_SECONDS, left), read=left),
            preload_content=False,
            redirect=False,
        )
        complete = False
        try:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > MAX_ANSWER_BYTES:
                raise DependencyError(f"{who}: answer of {declared} bytes is too large")
            answer = response.read(MAX_ANSWER_BYTES + 1, decode_content=False)
            if call.cut:  # the read ended because the watchdog shut the socket: a part is no answer
                raise DependencyError(f"{who}: no complete answer within {left:.1f} s")
            if len(answer) > MAX_ANSWER_BYTES:
                raise DependencyError(f"{who}: answer larger than {MAX_ANSWER_BYTES} bytes")
            complete = True
            return response.status, bytes(answer)
        finally:
            if complete:
                response.release_conn()
            else:
                response.close()  # never back into the pool half read
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        if call.cut:
            raise DependencyError(f"{who}: no complete answer within {left:.1f} s") from error
        raise DependencyError(f"{who}: unreachable ({type(error).__name__})") from error
    finally:
        watchdog.cancel()
        _calling.call = None
