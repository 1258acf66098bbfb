"""Drives the local stack like the outside world does: webhooks through the API, scheduler ticks,
human answers, all on the recording's clock (the shared virtual clock)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from .. import names as n
from ..clock import SHARED
from ..timeutil import iso
from .stack import LocalStack


def proxy_event(method: str, path: str, body: Any = None, at: datetime | None = None,
                query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                resource_params: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event, as API Gateway builds it for the api function."""
    epoch_ms = int((at.timestamp() if at else time.time()) * 1000)
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": {"content-type": "application/json", **(headers or {})},
        "multiValueHeaders": {k: [v] for k, v in {"content-type": "application/json", **(headers or {})}.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": resource_params, "stageVariables": None, "body": raw, "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/local{path}", "stage": "local",
                           "requestId": str(uuid.uuid4()), "requestTimeEpoch": epoch_ms,
                           "identity": {"sourceIp": "127.0.0.1", "userArn": None}, "accountId": "123456789012",
                           "apiId": "local", "protocol": "HTTP/1.1"},
    }


class Player:
    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.clock = SHARED

    # --- the API ---------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, at: datetime | None = None,
            query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        result, error = self.stack.invoke(n.F_API, proxy_event(method, path, body, at or self.clock(), query, headers))
        if error is not None:
            return 502, {"error": f"api function failed: {error}", "detail": result}
        payload = result.get("body") or "null"
        return int(result["statusCode"]), json.loads(payload) if payload else None

    def deliver(self, source: str, body: Any, at: datetime) -> tuple[int, Any]:
        """A webhook delivery at recording time `at`, then the stream consumer and a scheduler tick."""
        self.clock.set(at)
        status, reply = self.api("POST", f"/alerts/{source}", body, at)
        self.stack.pump.drain()
        self.tick(at)
        return status, reply

    def tick(self, at: datetime) -> list[str]:
        self.clock.set(at)
        result, error = self.stack.invoke(n.F_DETECTION, {"source": "incident-commander.local",
                                                          "detail-type": "Scheduled Event", "time": iso(at)})
        if error is not None:
            raise RuntimeError(f"detection tick failed: {error}: {result}")
        started = result.get("dispatched", [])
        self.wait_for_workflows()  # also those the stream consumer started: replays stay deterministic
        return started

    def flush(self, after: datetime, seconds: float) -> list[str]:
        """Let recording time pass so every pending incident settles and is diagnosed."""
        return self.tick(after + timedelta(seconds=seconds))

    # --- workflows -------------------------------------------------------------------------------
    def executions(self) -> list[dict[str, Any]]:
        sfn = self.stack.client("stepfunctions")
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"stateMachineArn": self.stack.state_machine_arn}
        while True:
            r = sfn.list_executions(**kwargs)
            out += r["executions"]
            if not r.get("nextToken"):
                return out
            kwargs["nextToken"] = r["nextToken"]

    def resting(self, execution: dict[str, Any]) -> bool:
        """Finished, or waiting for a human (its task token is stored)."""
        if execution["status"] != "RUNNING":
            return True
        from ..adapters.control import ControlStore

        control = ControlStore(self.stack.resolve(_control_ref()))
        return control.get_task_token(execution["name"]) is not None

    def wait_for_workflows(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            execs = self.executions()
            busy = [e for e in execs if not self.resting(e)]
            if not busy:
                return execs
            if time.monotonic() > deadline:
                raise TimeoutError(f"workflows still running: {[e['name'] for e in busy]}")
            time.sleep(0.05)


def _control_ref():
    from .. import wiring as w

    return w.Ref("table", n.T_CONTROL)
