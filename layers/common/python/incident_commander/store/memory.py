"""An in-memory event store with the same semantics as the DynamoDB adapter (unit tests, benchmarks)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..models.events import StoredEvent
from ..models.incident import IncidentState, fold
from .port import ConcurrencyError, EventStore, Page, StoreUnavailable, from_item, to_item


class InMemoryEventStore(EventStore):
    def __init__(self, region: str = "local") -> None:
        self.region = region
        self._lock = threading.Lock()
        self.items: dict[str, dict[int, dict[str, Any]]] = {}  # incident -> seq -> stored item
        self.states: dict[str, IncidentState] = {}
        self.markers: dict[tuple[str, str], int] = {}
        self.marker_ttl: dict[tuple[str, str], int] = {}
        self.down = False  # a test switches a region off to exercise failover

    def _up(self) -> None:
        if self.down:
            raise StoreUnavailable(self.region, "switched off by the test")

    def get_head(self, incident_id: str) -> IncidentState | None:
        self._up()
        s = self.states.get(incident_id)
        return s.as_stored() if s else None

    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        self._up()
        by_seq = self.items.get(incident_id, {})
        return [dict(by_seq[k]) for k in sorted(by_seq)]

    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        self._up()
        with self._lock:
            seen = [self.markers[(incident_id, e.idempotency_key)] for e in events
                    if e.idempotency_key and (incident_id, e.idempotency_key) in self.markers]
            if seen:
                return [from_item(self.items[incident_id][seq]) for seq in seen]
            current = self.states.get(incident_id)
            if (current.version if current else 0) != expected_version:
                raise ConcurrencyError(f"{incident_id}: version {expected_version} is stale",
                                       current.as_stored() if current else None)
            by_seq = self.items.setdefault(incident_id, {})
            for e in events:
                if e.seq in by_seq:  # the events table's own condition: a sequence number is used once
                    raise ConcurrencyError(f"{incident_id}: event {e.seq} already exists")
            for e in events:
                by_seq[e.seq] = to_item(e)
                if e.idempotency_key:
                    self.markers[(incident_id, e.idempotency_key)] = e.seq
            # `states` keeps whole projections for tests to look at; an append whose events left the
            # alert views or the diagnosis alone may have been folded from the outline `get_head` gives
            if not state.alerts_read:
                state = state.model_copy(update={"alerts": current.alerts if current else {}})
            if state.outlined:
                whole = fold(incident_id, [from_item(by_seq[k]) for k in sorted(by_seq)])
                state = state.model_copy(update={"hypotheses": whole.hypotheses, "decision": whole.decision,
                                                 "outlined": False})
            self.states[incident_id] = state
        return None

    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        self._up()
        ordered = sorted(self.states.values(), key=lambda s: (s.opened_at.isoformat() if s.opened_at else "",
                                                             s.incident_id), reverse=True)
        if predicate:
            ordered = [s for s in ordered if predicate(s)]
        start = int(cursor or 0)
        page = ordered[start:start + limit]
        nxt = str(start + limit) if start + limit < len(ordered) else None
        return Page([p.as_stored() for p in page], nxt)

    # --- maintenance ------------------------------------------------------------------------------
    def write_items(self, incident_id: str, items: Sequence[dict[str, Any]]) -> None:
        self._up()
        with self._lock:
            by_seq = self.items.setdefault(incident_id, {})
            for item in items:
                by_seq[int(item["seq"])] = dict(item)

    def delete_items(self, incident_id: str, seqs: Sequence[int]) -> None:
        self._up()
        with self._lock:
            for seq in seqs:
                self.items.get(incident_id, {}).pop(int(seq), None)

    def put_state(self, state: IncidentState, expected_version: int | None) -> None:
        self._up()
        with self._lock:
            current = self.states.get(state.incident_id)
            if (current.version if current else None) != expected_version:
                raise ConcurrencyError(f"{state.incident_id}: projection moved")
            self.states[state.incident_id] = state.model_copy()

    def expire(self, incident_id: str, items: Sequence[dict[str, Any]], expires_at: int) -> int:
        self._up()
        marked = 0
        with self._lock:
            by_seq = self.items.get(incident_id, {})
            for item in items:
                stored = by_seq.get(int(item["seq"]))
                if stored is not None and stored.get("hash") == item.get("hash"):
                    stored["expires_at"] = expires_at
                    marked += 1
                    if item.get("idempotency_key"):
                        self.marker_ttl[(incident_id, item["idempotency_key"])] = expires_at
        return marked

    def closed_before(self, cutoff: datetime, limit: int = 100) -> list[IncidentState]:
        self._up()
        closed = [s for s in self.states.values() if s.awaits_archive and s.resolved_at < cutoff]  # type: ignore[operator]
        return [s.as_stored() for s in sorted(closed, key=lambda s: (s.resolved_at, s.incident_id))[:limit]]

    def run_ttl(self, now_epoch: int) -> int:
        """What DynamoDB's TTL sweeper does, for tests: drop items whose `expires_at` has passed."""
        with self._lock:
            gone = 0
            for by_seq in self.items.values():
                for seq in [s for s, i in by_seq.items() if i.get("expires_at", now_epoch + 1) <= now_epoch]:
                    del by_seq[seq]
                    gone += 1
            return gone
