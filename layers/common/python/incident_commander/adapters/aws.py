"""AWS clients, created lazily and once per container, with botocore's retry mode configured here only.

Retries are botocore's own (`IC_RETRY_MODE` standard or adaptive, `IC_RETRY_MAX_ATTEMPTS`,
validated by `config.RetryConfig`): throttling and transient errors are retried with jittered
backoff by botocore, never by loops of ours. Endpoints follow the standard `AWS_ENDPOINT_URL`
variables, which is how the embedded local stack points every client at its moto server.

`add_hook` registers a botocore event handler on every client, present and future: the local
stack's fault injection uses it to make DynamoDB throttle or Kinesis refuse records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.config import Config

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}
_session: Any = None  # one session for every client: each new session loads botocore's data again
_hooks: list[tuple[str, Callable[..., Any], str]] = []  # (event name, handler, unique id)


def retry_config() -> Config:
    """The botocore Config every client gets, from IC_RETRY_* (a bad value names its variable)."""
    from ..config import RetryConfig, load_section

    r = load_section(RetryConfig, "IC_RETRY_")
    return Config(retries={"mode": r.mode, "max_attempts": r.max_attempts}, connect_timeout=r.connect_timeout,
                  read_timeout=r.read_timeout, tcp_keepalive=True)


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
                c = _session.client(service, region_name=region, config=retry_config())
                for event, handler, uid in _hooks:
                    c.meta.events.register(event, handler, unique_id=uid)
                _clients[key] = c
    return c


def add_hook(event: str, handler: Callable[..., Any]) -> str:
    """Register `handler` for a botocore event (e.g. `before-call.dynamodb.PutItem`) on every client."""
    uid = f"ic-hook-{id(handler)}-{event}"
    with _lock:
        _hooks.append((event, handler, uid))
        for c in _clients.values():
            c.meta.events.register(event, handler, unique_id=uid)
    return uid


def remove_hooks() -> None:
    with _lock:
        for event, _handler, uid in _hooks:
            for c in _clients.values():
                c.meta.events.unregister(event, unique_id=uid)
        _hooks.clear()


def reset_clients() -> None:
    """Forget cached clients (the local stack calls this when it moves its endpoint)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
