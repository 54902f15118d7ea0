"""`drmtoken serve` as a child process, and plain HTTP to it, for tests that need a real server."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

from drmtoken_cli.devserver.net import free_port
from tests.support.cli import DRMTOKEN, subprocess_env
from tests.support.lambdas import ROOT


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]
    stderr: list[str] = field(default_factory=list)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout=20)


def start_server(env: dict[str, str], *args: str) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [str(DRMTOKEN), "--template", str(ROOT / "template.yaml"), "serve", "--port", str(port), *args],
        env=subprocess_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.stderr.append(line)
            if line.startswith("listening on"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail("drmtoken serve did not start:\n" + "".join(server.stderr))
    return server


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def raw_exchange(base: str, request: bytes, timeout: float = 5) -> bytes:
    """Send bytes as they are and read until the server closes or goes quiet."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received
