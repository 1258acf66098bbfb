"""What every route module needs from the request: dependencies, clock, body, caller, incident."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from .. import names as n
from ..models.incident import IncidentState
from ..runtime import Deps

MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    """Raised by routes; becomes a JSON error response with this status and message."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str))


@dataclass
class ApiContext:
    app: APIGatewayRestResolver
    deps: Callable[[], Deps]

    def now(self) -> datetime:
        return self.deps().clock()

    def body(self) -> Any:
        raw = self.app.current_event.body or ""
        if len(raw.encode()) > MAX_BODY_BYTES:
            raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc

    def actor(self) -> str:
        ctx = self.app.current_event.request_context
        claims = (ctx.authorizer.claims or {}) if ctx.authorizer else {}
        return (claims.get("email") or claims.get("cognito:username") or ctx.identity.user_arn
                or self.app.current_event.headers.get("x-ic-user") or "anonymous")

    def incident(self, incident_id: str) -> IncidentState:
        s = self.deps().events.get_state(incident_id)
        if s is None or incident_id.startswith(n.IDEMPOTENCY_PREFIX):
            raise ApiError(404, f"incident {incident_id} not found")
        return s

    def query(self) -> dict[str, str]:
        return self.app.current_event.query_string_parameters or {}
