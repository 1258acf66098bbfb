"""AWS clients, created lazily and once per container, with botocore's retry mode configured here only.

Endpoints follow the standard `AWS_ENDPOINT_URL` variables, which is how the embedded local stack
points every client at its moto server without code of its own.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore.config import Config

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}
_session: Any = None  # one session for every client: each new session loads botocore's data again

RETRY_CONFIG = Config(
    retries={"mode": os.environ.get("IC_RETRY_MODE", "standard"), "max_attempts": 5},
    connect_timeout=3, read_timeout=10, tcp_keepalive=True,
)


def client(service: str, region: str | None = None) -> Any:
    """A shared client; pass your own to adapters in tests instead of patching this."""
    key = (service, region)
    c = _clients.get(key)
    if c is None:
        with _lock:
            c = _clients.get(key)
            if c is None:
                global _session
                if _session is None:
                    import boto3

                    _session = boto3.session.Session()
                c = _session.client(service, region_name=region, config=RETRY_CONFIG)
                _clients[key] = c
    return c


def reset_clients() -> None:
    """Forget cached clients (the local stack calls this when it moves its endpoint)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
