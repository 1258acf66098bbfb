"""An in-memory event store with the same semantics as the DynamoDB adapter (unit tests, benchmarks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..models.events import StoredEvent
from ..models.incident import IncidentState
from .port import ConcurrencyError, EventStore, Page, to_item


class InMemoryEventStore(EventStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.states: dict[str, IncidentState] = {}
        self.markers: dict[tuple[str, str], int] = {}

    def get_state(self, incident_id: str) -> IncidentState | None:
        s = self.states.get(incident_id)
        return s.model_copy() if s else None  # states are copy-on-write (models.incident.apply)

    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        return [dict(i) for i in self.items.get(incident_id, [])]

    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        with self._lock:
            current = self.states.get(incident_id)
            for e in events:
                if e.idempotency_key and (incident_id, e.idempotency_key) in self.markers:
                    seq = self.markers[(incident_id, e.idempotency_key)]
                    from .port import from_item

                    return [from_item(self.items[incident_id][seq - 1])]
            if (current.version if current else 0) != expected_version:
                raise ConcurrencyError(incident_id)
            self.items.setdefault(incident_id, []).extend(to_item(e) for e in events)
            for e in events:
                if e.idempotency_key:
                    self.markers[(incident_id, e.idempotency_key)] = e.seq
            self.states[incident_id] = state
        return None

    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        ordered = sorted(self.states.values(), key=lambda s: (s.opened_at.isoformat() if s.opened_at else "",
                                                             s.incident_id), reverse=True)
        if predicate:
            ordered = [s for s in ordered if predicate(s)]
        start = int(cursor or 0)
        page = ordered[start:start + limit]
        nxt = str(start + limit) if start + limit < len(ordered) else None
        return Page([p.model_copy(deep=True) for p in page], nxt)
