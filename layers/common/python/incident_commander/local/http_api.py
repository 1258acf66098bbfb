"""`incident-commander serve`: the local stack plus a small HTTP front end on localhost.

The front end does what API Gateway does for the REST API: it throttles (token bucket, 429), turns
each request into a proxy event for the real `api` function (invoked through the Lambda API) and
returns its response. It also serves the dashboard's static files, as S3 + CloudFront do in AWS.
Local auth mode: every caller is trusted and names themselves with `X-IC-User` (and may lower
their role with `X-IC-Role`); the server says so loudly when it starts.
"""

from __future__ import annotations

import json
import mimetypes
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .. import names as n
from ..clock import SHARED
from .player import Player, proxy_event
from .stack import LocalStack

DASHBOARD = Path(__file__).parent / "dashboard"
MAX_BODY = 10_485_760  # API Gateway's payload limit; the API itself refuses bodies over 1 MB
# API Gateway's default account throttle (steady requests per second, burst)
DEFAULT_RATE, DEFAULT_BURST = 10_000.0, 5_000
LOCAL_AUTH_WARNING = (
    "LOCAL AUTH MODE: no authentication. Every caller is trusted and acts as admin.",
    "Callers name themselves with the X-IC-User header (recorded in the timeline)",
    "and may take a lower role with X-IC-Role: viewer | responder | admin.",
    "Bound to {host}: never expose this server to a network.")


def banner(lines: tuple[str, ...], **values: str) -> str:
    text = [line.format(**values) for line in lines]
    width = max(map(len, text)) + 4
    return "\n".join(["*" * (width + 2)] + [f"*  {t:<{width - 4}}  *" for t in text] + ["*" * (width + 2)])


class TokenBucket:
    """API Gateway's throttling model: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    """Headers of a proxy integration result (`headers` and/or `multiValueHeaders`)."""
    out = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        out[k] = ", ".join(str(v) for v in values)
    return out


def make_handler(stack: LocalStack, bucket: TokenBucket):
    """Requests reach the api function one at a time: locally it is one warm container, and a Lambda
    container never runs two invocations at once (the resolver keeps per-request state). Requests
    beyond it wait here, in the front end, outside the handler, as they would for a free container."""
    container = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "incident-commander-local"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:  # quiet by default
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            headers = {"Content-Type": "application/json", **(headers or {})}
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps({"error": message}).encode(), headers)

        def _static(self, path: str) -> bool:
            """The dashboard under /dashboard/ (S3 + CloudFront serve the same files in AWS)."""
            if path in ("/", "/dashboard"):
                self._send(302, b"", {"Location": "/dashboard/", "Content-Type": "text/plain"})
                return True
            if path == "/dashboard/config.json":  # the CDK app writes this file next to the page in AWS
                self._send(200, json.dumps({"api": "", "auth": "local"}).encode())
                return True
            rel = path.removeprefix("/dashboard/") or "index.html"
            target = (DASHBOARD / rel).resolve()
            if DASHBOARD.resolve() not in target.parents or not target.is_file():
                return False
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, target.read_bytes(), {"Content-Type": ctype})
            return True

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._error(413, f"body larger than {MAX_BODY} bytes")
                self.close_connection = True
                return
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else None
            if method == "GET" and (parts.path in ("/", "/dashboard") or parts.path.startswith("/dashboard/")):
                if not self._static(parts.path):
                    self._error(404, f"no file {parts.path}")
                return
            if not bucket.take():
                self._error(429, f"too many requests: throttled at {bucket.rate:g} requests/s (burst {bucket.burst})",
                            {"Retry-After": "1"})
                return
            # API Gateway hands the function the decoded path
            event = proxy_event(method, unquote(parts.path), raw, SHARED(), dict(parse_qsl(parts.query)) or None,
                                {k.lower(): v for k, v in self.headers.items()})
            with container:
                result, error = stack.invoke(n.F_API, event)
            if error is not None:  # what API Gateway answers when the integration fails
                self._error(502, f"api function failed: {error}")
                return
            self._send(int(result["statusCode"]), (result.get("body") or "").encode(), response_headers(result))

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._handle("PUT")

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle("DELETE")

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._handle("OPTIONS")

    return Handler


class LocalServer:
    """The local stack, the stream pump and a scheduler tick in the background, and the HTTP server."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", extra_env: dict[str, str] | None = None,
                 rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST, tick_seconds: float = 1.0):
        self.stack = LocalStack(extra_env=extra_env)
        self.host, self.port = host, port
        self.bucket = TokenBucket(rate, burst)
        self.tick_seconds = tick_seconds
        self.httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()

    def start(self) -> LocalServer:
        self.stack.start()
        SHARED.follow_wall = True
        SHARED.set(SHARED())
        self.stack.pump.start_background()
        self.httpd = ThreadingHTTPServer((self.host, self.port), make_handler(self.stack, self.bucket))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, name="local-api", daemon=True).start()
        threading.Thread(target=self._ticker, name="scheduler", daemon=True).start()
        return self

    def _ticker(self) -> None:
        """The detection agent's schedule (an EventBridge rule in AWS): settles incidents as time passes."""
        player = Player(self.stack)
        while not self._stop.wait(self.tick_seconds):
            try:
                player.tick(SHARED())
            except Exception:  # noqa: BLE001 - the next tick retries
                pass

    def stop(self) -> None:
        self._stop.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.stack.stop()
        SHARED.follow_wall = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def serve(port: int, host: str = "127.0.0.1", rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
          extra_env: dict[str, str] | None = None) -> int:
    server = LocalServer(port, host, extra_env=extra_env, rate=rate, burst=burst).start()
    print(banner(LOCAL_AUTH_WARNING, host=host), file=sys.stderr, flush=True)
    print(f"Incident Commander (local) on {server.url}  -- dashboard {server.url}/dashboard/  API {server.url}/incidents  "
          f"OpenAPI {server.url}/openapi.json", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
