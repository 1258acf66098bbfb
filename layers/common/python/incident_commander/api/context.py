"""What every route module needs from the request: dependencies, clock, body, caller, incident."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from .. import names as n
from ..impact import AlertChange, changes_from_events
from ..models.incident import IncidentState
from ..runtime import Deps
from .roles import AuthConfig, Principal, Role, authenticate, require

MAX_BODY_BYTES = 1_000_000
IMPACT_CACHE_SIZE = 512


class ApiError(Exception):
    """Raised by routes; becomes a JSON error response with this status and message."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str),
                    headers=headers)


class AlertHistoryCache:
    """Each incident's alert firing/resolving history, by projection version (events never change).

    A warm API container answering dashboard polls reads an incident's events once per new version.
    """

    def __init__(self, size: int = IMPACT_CACHE_SIZE):
        self._size = size
        self._items: OrderedDict[str, tuple[int, list[AlertChange]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, state: IncidentState, read: Callable[[str], list]) -> list[AlertChange]:
        with self._lock:
            hit = self._items.get(state.incident_id)
            if hit is not None and hit[0] == state.version:
                self._items.move_to_end(state.incident_id)
                return hit[1]
        changes = changes_from_events(read(state.incident_id))
        with self._lock:
            self._items[state.incident_id] = (state.version, changes)
            self._items.move_to_end(state.incident_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return changes


@dataclass
class ApiContext:
    app: APIGatewayRestResolver
    deps: Callable[[], Deps]
    auth: AuthConfig | None = None  # read from IC_AUTH_* on first use when not given
    history: AlertHistoryCache = field(default_factory=AlertHistoryCache)

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

    def auth_config(self) -> AuthConfig:
        if self.auth is None:
            self.auth = AuthConfig.from_env()
        return self.auth

    def principal(self) -> Principal:
        return authenticate(self.app.current_event.raw_event, self.auth_config())

    def require(self, role: Role) -> Principal:
        """The caller, if they hold `role` (401 / 403 otherwise). Every route calls this first."""
        return require(self.principal(), role)

    def actor(self) -> str:
        """Who is making this (mutating) call, as recorded in the timeline."""
        return self.principal().name

    def incident(self, incident_id: str) -> IncidentState:
        s = self.deps().events.get_state(incident_id)
        if s is None or incident_id.startswith(n.IDEMPOTENCY_PREFIX):
            raise ApiError(404, f"incident {incident_id} not found")
        return s

    def alert_history(self, state: IncidentState) -> list[AlertChange]:
        return self.history.get(state, self.deps().events.read)

    def query(self) -> dict[str, str]:
        return self.app.current_event.query_string_parameters or {}
