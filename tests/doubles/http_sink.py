"""A loopback HTTP server standing in for Slack / PagerDuty: records requests, answers as scripted."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpSink:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []  # status codes to answer, in order; then 200
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.requests.append({"path": self.path, "body": json.loads(body or b"null")})
                self.answer()

            def do_GET(self) -> None:  # noqa: N802 - SNS's SubscribeURL
                sink.requests.append({"path": self.path, "method": "GET"})
                self.answer()

            def answer(self) -> None:
                status = sink.script.pop(0) if sink.script else 200
                payload = b'{"status":"success"}' if status < 300 else b'{"message":"scripted failure"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
