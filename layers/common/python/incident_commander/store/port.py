"""The event-store port and the append logic every adapter shares.

An append names the version it expects. The adapter writes the new events, their idempotency
markers and the new projection atomically, or nothing: a conflicting append raises
ConcurrencyError and the caller re-reads and retries (`append_with_retry`).
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models.events import SCHEMA_VERSION, NewEvent, StoredEvent
from ..models.incident import IncidentState, apply
from ..timeutil import iso, parse_iso, utcnow
from .hashing import GENESIS, canonical_data, event_hash

MAX_EVENTS_PER_APPEND = 25  # DynamoDB transactions hold 100 items: event + marker each, + projection


class ConcurrencyError(RuntimeError):
    """Another writer appended first: re-read the incident and decide again."""


class IncidentNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Page:
    items: list[IncidentState]
    cursor: str | None


def to_item(e: StoredEvent) -> dict[str, Any]:
    """The stored (and hashed) form of an event: plain strings and ints, `data` as canonical JSON."""
    return {"incident_id": e.incident_id, "seq": e.seq, "type": e.type.value, "schema_version": e.schema_version,
            "at": iso(e.at), "recorded_at": iso(e.recorded_at), "actor": e.actor, "data": canonical_data(e.data),
            "idempotency_key": e.idempotency_key, "prev_hash": e.prev_hash, "hash": e.hash}


def from_item(item: dict[str, Any]) -> StoredEvent:
    import json

    return StoredEvent(incident_id=item["incident_id"], seq=int(item["seq"]), type=item["type"],
                       schema_version=int(item.get("schema_version", SCHEMA_VERSION)), at=parse_iso(item["at"]),
                       recorded_at=parse_iso(item["recorded_at"]), actor=item["actor"], data=json.loads(item["data"]),
                       idempotency_key=item.get("idempotency_key"), prev_hash=item["prev_hash"], hash=item["hash"])


def chain(state: IncidentState | None, incident_id: str, new: Sequence[NewEvent],
          now: datetime | None = None) -> tuple[list[StoredEvent], IncidentState]:
    """Give new events their sequence numbers and hashes, and fold them into the projection."""
    if len(new) > MAX_EVENTS_PER_APPEND:
        raise ValueError(f"at most {MAX_EVENTS_PER_APPEND} events per append")
    current = state or IncidentState(incident_id=incident_id)
    prev, seq = (current.last_hash or GENESIS), current.version
    recorded = now or utcnow()
    out: list[StoredEvent] = []
    for ev in new:
        seq += 1
        fields = {"incident_id": incident_id, "seq": seq, "type": ev.type.value, "schema_version": SCHEMA_VERSION,
                  "at": iso(ev.at), "recorded_at": iso(recorded), "actor": ev.actor,
                  "data": canonical_data(ev.data), "idempotency_key": ev.idempotency_key, "prev_hash": prev}
        h = event_hash(fields)
        stored = StoredEvent(incident_id=incident_id, seq=seq, type=ev.type, at=parse_iso(fields["at"]),
                             recorded_at=parse_iso(fields["recorded_at"]), actor=ev.actor, data=ev.data,
                             idempotency_key=ev.idempotency_key, prev_hash=prev, hash=h)
        current = apply(current, stored)
        out.append(stored)
        prev = h
    return out, current


class EventStore(abc.ABC):
    """Append-only incident events with a projection per incident."""

    @abc.abstractmethod
    def get_state(self, incident_id: str) -> IncidentState | None: ...

    @abc.abstractmethod
    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        """Stored events as stored (for verification), ordered by seq."""

    @abc.abstractmethod
    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        """Write atomically. Return None on success; the already-stored events when an idempotency key
        was seen before; raise ConcurrencyError when the version moved."""

    @abc.abstractmethod
    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page: ...

    def read(self, incident_id: str) -> list[StoredEvent]:
        return [from_item(i) for i in self.read_items(incident_id)]

    def append(self, incident_id: str, expected_version: int, events: Sequence[NewEvent],
               now: datetime | None = None) -> tuple[list[StoredEvent], IncidentState]:
        """Append `events` after version `expected_version` (0 for a new incident)."""
        state = self.get_state(incident_id)
        current_version = state.version if state else 0
        if current_version != expected_version:
            raise ConcurrencyError(f"{incident_id}: expected version {expected_version}, found {current_version}")
        stored, new_state = chain(state, incident_id, events, now)
        duplicates = self._commit(incident_id, expected_version, stored, new_state)
        if duplicates is not None:
            return duplicates, self.get_state(incident_id) or new_state
        return stored, new_state


def append_with_retry(store: EventStore, incident_id: str,
                      decide: Callable[[IncidentState | None], Sequence[NewEvent]],
                      attempts: int = 10, now: datetime | None = None) -> tuple[list[StoredEvent], IncidentState | None]:
    """Read, decide, append; on a conflict read again and decide again (jittered backoff)."""
    for attempt in range(attempts):
        state = store.get_state(incident_id)
        events = list(decide(state))
        if not events:
            return [], state
        try:
            return store.append(incident_id, state.version if state else 0, events, now)
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            time.sleep(min(0.2, 0.005 * (2 ** attempt)) * random.random())
    raise ConcurrencyError(incident_id)  # unreachable
