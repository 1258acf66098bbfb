"""Secrets Manager adapter: a JSON secret read once and re-read after a TTL, so a rotated value is
picked up by warm containers without a redeploy."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws

SECRET_TTL_SECONDS = 300.0


class SecretUnavailable(RuntimeError):
    """The secret could not be read or is not a JSON object (the message says which)."""


class JsonSecret:
    def __init__(self, secret_id: str, client: Any = None, ttl: float = SECRET_TTL_SECONDS):
        self.secret_id = secret_id
        self._client = client
        self.ttl = ttl
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._value is not None and now - self._at <= self.ttl:
            return self._value
        with self._lock:
            if self._value is None or now - self._at > self.ttl:
                try:
                    self._value = self._read()
                    self._at = now
                except SecretUnavailable:
                    if self._value is None:
                        raise
                    # keep serving the last good value through a transient failure; retry next call
        return self._value

    def _read(self) -> dict[str, Any]:
        client = self._client or aws.client("secretsmanager")
        try:
            r = client.get_secret_value(SecretId=self.secret_id)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            raise SecretUnavailable(f"secret {self.secret_id}: {code}") from exc
        try:
            value = json.loads(r.get("SecretString") or "")
        except json.JSONDecodeError as exc:
            raise SecretUnavailable(f"secret {self.secret_id}: not JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise SecretUnavailable(f"secret {self.secret_id}: expected a JSON object")
        return value
