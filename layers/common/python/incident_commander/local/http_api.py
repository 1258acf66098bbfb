"""`incident-commander serve`: the local stack plus a small HTTP front end on localhost.

The front end does what API Gateway does for the REST API: it turns each request into a proxy
event for the real `api` function (invoked through the Lambda API) and returns its response.
It also serves the dashboard's static files. Local auth mode: every caller is trusted and may
pass `X-IC-User` to name themselves; the server says so when it starts.
"""

from __future__ import annotations

import json
import mimetypes
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .. import names as n
from ..clock import SHARED
from .player import Player, proxy_event
from .stack import LocalStack

DASHBOARD = Path(__file__).parent / "dashboard"
MAX_BODY = 2_000_000


def make_handler(stack: LocalStack):
    class Handler(BaseHTTPRequestHandler):
        server_version = "incident-commander-local"

        def log_message(self, fmt: str, *args) -> None:  # quiet by default
            return

        def _send(self, status: int, body: bytes, ctype: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (headers or {}).items():
                if k.lower() not in ("content-length", "content-type"):
                    self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _static(self, path: str) -> bool:
            rel = "index.html" if path in ("/", "/dashboard", "/dashboard/") else path.removeprefix("/dashboard/")
            target = (DASHBOARD / rel).resolve()
            if DASHBOARD.resolve() not in target.parents or not target.is_file():
                return False
            self._send(200, target.read_bytes(), mimetypes.guess_type(target.name)[0] or "application/octet-stream")
            return True

        def _api(self, method: str) -> None:
            parts = urlsplit(self.path)
            if method == "GET" and (parts.path in ("/", "/dashboard") or parts.path.startswith("/dashboard/")):
                if self._static(parts.path):
                    return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, json.dumps({"error": f"body larger than {MAX_BODY} bytes"}).encode())
                return
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else None
            event = proxy_event(method, parts.path, raw, SHARED(), dict(parse_qsl(parts.query)) or None,
                                {k.lower(): v for k, v in self.headers.items()})
            result, error = stack.invoke(n.F_API, event)
            if error is not None:
                self._send(502, json.dumps({"error": f"api function failed: {error}"}).encode())
                return
            self._send(int(result["statusCode"]), (result.get("body") or "").encode(),
                       (result.get("headers") or {}).get("Content-Type", "application/json"),
                       result.get("headers") or {})

        def do_GET(self) -> None:  # noqa: N802
            self._api("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._api("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._api("PUT")

        def do_DELETE(self) -> None:  # noqa: N802
            self._api("DELETE")

    return Handler


class LocalServer:
    """The local stack, the stream pump and a scheduler tick in the background, and the HTTP server."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", extra_env: dict[str, str] | None = None):
        self.stack = LocalStack(extra_env=extra_env)
        self.host, self.port = host, port
        self.httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()

    def start(self) -> LocalServer:
        self.stack.start()
        SHARED.follow_wall = True
        SHARED.set(SHARED())
        self.stack.pump.start_background()
        self.httpd = ThreadingHTTPServer((self.host, self.port), make_handler(self.stack))
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, name="local-api", daemon=True).start()
        threading.Thread(target=self._ticker, name="scheduler", daemon=True).start()
        return self

    def _ticker(self) -> None:
        player = Player(self.stack)
        while not self._stop.wait(1.0):
            try:
                player.tick(SHARED())
            except Exception:  # noqa: BLE001 - the next tick retries
                pass

    def stop(self) -> None:
        self._stop.set()
        if self.httpd is not None:
            self.httpd.shutdown()
        self.stack.stop()
        SHARED.follow_wall = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def serve(port: int, host: str = "127.0.0.1") -> int:
    server = LocalServer(port, host).start()
    print(f"Incident Commander (local) on {server.url}  -- dashboard {server.url}/  API {server.url}/incidents")
    print("LOCAL AUTH MODE: no authentication; every caller is trusted (name yourself with X-IC-User).",
          file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
