"""The local gateway of ``drmtoken serve``: the API on one machine, answering as API Gateway and the functions would."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from drmtoken.apigw.responses import prefers_json
from drmtoken_cli.errors import CommandError

from .demo import DEMO_AUTHENTICATOR, ensure_demo_customer
from .events import rest_event
from .lambda_host import FunctionHost, prepare_environment, route_parameters
from .local_keyring import local_keyring_file
from .net import free_port
from .template import Template

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
LOCAL_OVERRIDES = (
    "CLEARKEY_ENABLED",
    "WIDEVINE_LICENSE_URL",
    "FAIRPLAY_LICENSE_URL",
    "WIDEVINE_PROVIDER",
    "FAIRPLAY_KSM",
    "FAIRPLAY_CERTIFICATE",
)
# Served at /hms/fp/cert locally when no certificate is given: no real FairPlay player will accept it.
LOCAL_FAIRPLAY_CERTIFICATE = base64.b64encode(b"stand-in FairPlay application certificate").decode()
_ERROR_CODE = re.compile(r'"errorCode": (-?\d+)|<h1>Error (-?\d+)</h1>')


def printable(text: str) -> str:
    """``text`` with every non-printable character written as an escape (\\x1b, \\x08, \\n ...)."""
    return "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in text)


class FramingError(Exception):
    """A body that cannot be read as framed: (status, message) for the answer; the connection closes."""


class DynamoTimer:
    """Seconds this thread spent in DynamoDB calls, for the Server-Timing header."""

    def __init__(self, client: Any) -> None:
        self._local = threading.local()
        client.meta.events.register("before-call.dynamodb", self._start)
        client.meta.events.register("after-call.dynamodb", self._stop)

    def _start(self, **_: Any) -> None:
        self._local.started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        self._local.spent = self.spent() + time.perf_counter() - self._local.started

    def spent(self) -> float:
        return float(getattr(self._local, "spent", 0.0))

    def reset(self) -> None:
        self._local.spent = 0.0


class StageThrottle:
    """API Gateway's stage throttling: a bucket of ``burst`` requests, refilled at ``rate`` a second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(burst, 1.0)
        self.tokens, self.at = self.burst, time.monotonic()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 refuses bursts of concurrent clients

    def __init__(self, address: tuple[str, int], host: FunctionHost, timer: DynamoTimer | None = None) -> None:
        super().__init__(address, GatewayRequestHandler)
        self.functions = host
        self.timer = timer
        template = host.template
        self.gateway_responses = {
            kind: (*template.gateway_response(kind), template.gateway_response_headers(kind))
            for kind in ("MISSING_AUTHENTICATION_TOKEN", "THROTTLED")
        }
        throttle = template.stage_throttle()
        self.throttle = StageThrottle(*throttle) if throttle else None
        self.binary_bodies = template.binary_bodies()


class GatewayRequestHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without this, Nagle's algorithm meets the
        # client's delayed ACK and every keep-alive response waits ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler looks up do_<METHOD>: every method reaches routing, so the
        # functions answer 405 themselves, as behind API Gateway's ANY method.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def handle_any(self) -> None:
        started = time.perf_counter()
        framing_error = self.framing_error()
        if framing_error is not None:
            # The connection cannot be trusted past this request: answer, then close it.
            self.close_connection = True
            status, message = framing_error
            self.send_answer(status, {"Content-Type": "application/json"}, json.dumps({"message": message}), started)
            return
        try:
            body = self.read_body()
        except FramingError as error:
            self.close_connection = True
            status, message = error.args
            self.send_answer(status, {"Content-Type": "application/json"}, json.dumps({"message": message}), started)
            return
        event = rest_event(self.command, self.path, list(self.headers.items()), body, self.server.binary_bodies)
        if self.server.timer:
            self.server.timer.reset()
        spec = self.server.functions.route(event["path"], self.command)
        text: str | bytes
        if self.server.throttle and not self.server.throttle.admit():  # before any route or function, as API Gateway
            status, headers, text = self.gateway_answer("THROTTLED", event["requestContext"]["requestId"])
        elif spec is None:
            status, headers, text = self.gateway_answer(
                "MISSING_AUTHENTICATION_TOKEN", event["requestContext"]["requestId"]
            )
        else:
            templated = route_parameters(spec, event["path"])
            if templated is not None:  # /speke/{customerId}: as API Gateway fills them in
                event["resource"], event["pathParameters"] = templated
                event["requestContext"]["resourcePath"] = templated[0]
            response = self.server.functions.invoke(spec.logical_id, event)
            status, headers, text = response["statusCode"], response.get("headers") or {}, response.get("body") or ""
            if response.get("isBase64Encoded"):  # binary media types: API Gateway sends the bytes, decoded
                text = base64.b64decode(text)
        if self.server.timer:
            spent, total = self.server.timer.spent() * 1000, (time.perf_counter() - started) * 1000
            headers = {**headers, "Server-Timing": f"dynamodb;dur={spent:.3f}, total;dur={total:.3f}"}
        self.send_answer(status, headers, text, started)

    def framing_error(self) -> tuple[int, str] | None:
        """What API Gateway would answer for a body it cannot delimit; None when the framing is sound.

        One plain Content-Length, or Transfer-Encoding: chunked alone. Anything else (a length
        that is not a number, two lengths, a length beside chunked, another coding) is refused:
        reading on would take the body's bytes for the next request, or wait for bytes that
        never come.
        """
        lengths = self.headers.get_all("Content-Length") or []
        coding = self.headers.get_all("Transfer-Encoding") or []
        if coding and ([c.strip().lower() for c in coding] != ["chunked"] or lengths):
            return 400, "Bad Request"
        if len(lengths) > 1 or any(not re.fullmatch(r"[0-9]{1,12}", value.strip(), re.ASCII) for value in lengths):
            return 400, "Bad Request"
        return None

    def read_body(self) -> bytes:
        """The request body, by its length or its chunks, at most API Gateway's 10 MiB."""
        if self.headers.get("Transfer-Encoding"):
            return self.read_chunks()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise FramingError(413, "Request Too Large")
        return self.rfile.read(length) if length else b""

    def read_chunks(self) -> bytes:
        body = b""
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_line):
                raise FramingError(400, "Bad Request")
            size = int(size_line, 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return body
            if len(body) + size > MAX_BODY_BYTES:
                raise FramingError(413, "Request Too Large")
            body += self.rfile.read(size)
            if self.rfile.readline(3) != b"\r\n":
                raise FramingError(400, "Bad Request")

    def gateway_answer(self, response_type: str, request_id: str) -> tuple[int, dict[str, str], str]:
        """One of API Gateway's own responses (unknown path, throttled), as template.yaml shapes it."""
        status, templates, headers = self.server.gateway_responses[response_type]
        content_type = "application/json" if prefers_json(self.headers.get("Accept") or "") else "text/html"
        body = templates[content_type].replace("$context.requestId", request_id)
        return status, {"Content-Type": content_type, **headers}, body

    def send_answer(self, status: int, headers: dict[str, str], text: str | bytes, started: float) -> None:
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", "local")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        match = _ERROR_CODE.search(payload.decode("utf-8", "replace")) if status != 200 else None
        code = next((g for g in match.groups() if g), "-") if match else "0" if status == 200 else "-"
        milliseconds = (time.perf_counter() - started) * 1000
        # The access log: never the query string or body, which carry keys and secrets; and no
        # control character from the request, which could forge lines or rewrite the terminal.
        path = printable(self.path.split("?", 1)[0])
        command = printable(self.command or "-")
        print(f"{command} {path} {status} {code} {milliseconds:.1f}ms", file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default log, which would print the query string."""


def start_storage() -> Any:
    """Use the DynamoDB engine configured, or start moto's server on a free loopback port."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        say(f"storage: DynamoDB at {os.environ['AWS_ENDPOINT_URL_DYNAMODB']}")
        return None
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its request lines would repeat ours
    port = free_port()
    engine = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    engine.start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://127.0.0.1:{port}"
    say(f"storage: embedded in-memory DynamoDB (moto) at http://127.0.0.1:{port}; data ends with this process")
    say(
        "  the CLI talks to it with: export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:"
        f"{port} AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
    )
    return engine


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


DEMO_KID_B64URL = "gOqLyKWPmQrR92vGZbML-g"  # ^kid1, as a Clear Key request names it


def curl_lines(base: str) -> list[str]:
    """Ready-to-paste lines: a Widevine token, a FairPlay token, and a Widevine token redeemed with Clear Key."""
    key, iv = "00112233445566778899aabbccddeeff", "0f0e0d0c0b0a09080706050403020100"
    widevine = (
        f"curl '{base}/hms/wv/token?customerAuthenticator={DEMO_AUTHENTICATOR}"
        f"&kid=^kid1&contentKey={key}&securityLevel=1&hdcpOutputControl=0'"
    )
    clearkey = (
        f"""curl -s "$({widevine} -s | sed 's#/hms/wv/rights/#/hms/ck/rights/#')" """
        f"""-H 'Content-Type: application/json' -d '{{"kids":["{DEMO_KID_B64URL}"],"type":"temporary"}}'"""
    )
    return [
        widevine,
        f"curl '{base}/hms/fp/token?customerAuthenticator={DEMO_AUTHENTICATOR}&contentKey={key}&iv={iv}'",
        clearkey,
    ]


def start_demo_site(base: str, project_dir: Path) -> Any:
    """The demo page on an origin of its own, when the clip can be made here; None (and why) when not."""
    from .demo_site import SHAKA, DemoSite
    from .media import MediaUnavailable, demo_media

    if not (project_dir / SHAKA).is_file():
        say("demo page: unavailable, Shaka Player is not installed (`make run` installs it with npm)")
        return None
    media = project_dir / ".local" / "demo-media"
    try:
        demo_media(media)
    except MediaUnavailable as error:
        say(f"demo page: unavailable, {error}")
        return None
    site = DemoSite(base, project_dir, media).start()
    say(f"demo page: {site.url} (plays a clip with a Clear Key license from {base}/hms/ck/rights/)")
    return site


def serve(template: Template, host: str, port: int, environment: str, demo: bool, server_timing: bool) -> None:
    """Serve every route of the template on ``host:port`` until SIGTERM or Ctrl-C."""
    from drmtoken.adapters.aws import client

    from .tables import create_tables

    functions = FunctionHost(template)
    keyring_source = (
        "TOKEN_KEYRING" if os.environ.get("TOKEN_KEYRING") else str(local_keyring_file(template.project_dir))
    )
    chosen = {name: os.environ[name] for name in LOCAL_OVERRIDES if os.environ.get(name)}
    prepare_environment(template, environment)
    for spec in functions.functions.values():  # import every handler up front, as Lambda's init phase does
        spec.load_handler()
    engine = start_storage()
    widevine_stand_in = None
    if "WIDEVINE_PROVIDER" not in chosen:
        from .widevine_standin import WidevineStandIn

        widevine_stand_in = WidevineStandIn().start()
        chosen["WIDEVINE_PROVIDER"] = widevine_stand_in.provider_json()
        say(f"Widevine: a local stand-in of the license service at {widevine_stand_in.url} (test credential)")
    ksm_stand_in = None
    if "FAIRPLAY_KSM" not in chosen:
        from .ksm_standin import KsmStandIn

        ksm_stand_in = KsmStandIn().start()
        chosen["FAIRPLAY_KSM"] = ksm_stand_in.url
        say(f"FairPlay: a local stand-in KSM at {ksm_stand_in.url}")
    chosen.setdefault("FAIRPLAY_CERTIFICATE", LOCAL_FAIRPLAY_CERTIFICATE)
    try:
        created = create_tables(client("dynamodb"), template)
        say("tables: " + ", ".join(f"{name} ({'created' if new else 'exists'})" for name, new in created.items()))
        timer = DynamoTimer(client("dynamodb")) if server_timing else None
        try:
            gateway = Gateway((host, port), functions, timer)
        except (OSError, OverflowError) as error:  # busy port, unknown host, address not on this machine
            reason = getattr(error, "strerror", None) or str(error)
            raise CommandError(f"cannot listen on {host}:{port}: {reason}") from None
        base = f"http://{host}:{gateway.server_address[1]}"
        # Locally: Clear Key on (never on prod, which refuses it), and token answers pointing at
        # this server's own rights routes, unless the caller chose otherwise (docs/rights-api.md, section 9).
        os.environ.update(
            {
                "CLEARKEY_ENABLED": "false" if environment == "prod" else "true",
                "WIDEVINE_LICENSE_URL": f"{base}/hms/wv/rights/",
                "FAIRPLAY_LICENSE_URL": f"{base}/hms/fp/rights/",
                **chosen,
            }
        )
        say(f"environment: {environment}; token keyring: {keyring_source}")
        say(f"Clear Key: {'on' if os.environ['CLEARKEY_ENABLED'] == 'true' else 'off'} at {base}/hms/ck/rights/")
        if demo:
            from drmtoken_cli.admin_store import AdminStore

            # The same tables the functions use: their variables are this process's now.
            store = AdminStore(client("dynamodb"), os.environ["CUSTOMERS_TABLE"], os.environ["CONTENT_KEYS_TABLE"])
            ensure_demo_customer(store, environment)
            say(f"demo customer: {DEMO_AUTHENTICATOR}")
            for line in curl_lines(base):
                say(f"  {line}")
        demo_site = start_demo_site(base, template.project_dir) if demo else None
        say(f"listening on {base} (Ctrl-C to stop)")

        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # Both, explicitly: a process started in the background inherits SIGINT ignored.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            gateway.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            say("stopping")
        finally:
            gateway.server_close()
            if demo_site is not None:
                demo_site.stop()
    finally:
        for stand_in in (widevine_stand_in, ksm_stand_in):
            if stand_in is not None:
                stand_in.stop()
        if engine is not None:
            engine.stop()
    say("stopped")
