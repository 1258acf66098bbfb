"""The event-store port and the append logic every adapter shares.

An append names the version it expects. The adapter writes the new events, their idempotency
markers and the new projection atomically, or nothing: a conflicting append raises
ConcurrencyError and the caller re-reads and retries (`append_with_retry`). An event whose
idempotency key is already stored is not stored again: the append returns the stored event.

The stored projection holds no alert views (IncidentState.stored_json): `get_state` folds them
from the events, `get_head` reads the projection alone, and an append reads the events only when
its own events need the views (a new alert, a change, a detach, the archive).
"""

from __future__ import annotations

import abc
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models.events import DATA_MODELS, SCHEMA_VERSION, NewEvent, StoredEvent
from ..models.incident import IncidentState, apply, fold, needs_alerts
from ..timeutil import iso, parse_iso, utcnow
from .hashing import GENESIS, canonical_data, event_hash

_JITTER = random.Random()  # its own generator: background retries leave the global one alone

MAX_EVENTS_PER_APPEND = 25  # DynamoDB transactions hold 100 items: event + marker each, + projection
DEFAULT_ATTEMPTS = 20
BACKOFF_CAP_S = 0.25


class ConcurrencyError(RuntimeError):
    """Another writer appended first: re-read the incident and decide again.

    `current` is the projection that won, when the store returned it with the failure (DynamoDB
    does, with ReturnValuesOnConditionCheckFailure), which saves the re-read.
    """

    def __init__(self, message: str, current: IncidentState | None = None):
        super().__init__(message)
        self.current = current


class StoreUnavailable(RuntimeError):
    """The store of one region failed (network, 5xx, throttled past the SDK's retries): a reader may
    fail over to a replica region. Never raised for a bad request or a failed condition."""

    def __init__(self, region: str, cause: BaseException | str):
        super().__init__(f"event store in {region} unavailable: {cause}")
        self.region = region


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
    return StoredEvent(incident_id=item["incident_id"], seq=int(item["seq"]), type=item["type"],
                       schema_version=int(item.get("schema_version", SCHEMA_VERSION)), at=parse_iso(item["at"]),
                       recorded_at=parse_iso(item["recorded_at"]), actor=item["actor"], data=json.loads(item["data"]),
                       idempotency_key=item.get("idempotency_key"), prev_hash=item["prev_hash"], hash=item["hash"])


def chain(state: IncidentState | None, incident_id: str, new: Sequence[NewEvent],
          now: datetime | None = None) -> tuple[list[StoredEvent], IncidentState]:
    """Give new events their sequence numbers and hashes, and fold them into the projection."""
    if not new:
        raise ValueError("an append needs at least one event")
    if len(new) > MAX_EVENTS_PER_APPEND:
        raise ValueError(f"at most {MAX_EVENTS_PER_APPEND} events per append, got {len(new)}")
    keys = [ev.idempotency_key for ev in new if ev.idempotency_key]
    if len(keys) != len(set(keys)):
        raise ValueError("two events of one append share an idempotency key")
    current = state or IncidentState(incident_id=incident_id)
    prev, seq = (current.last_hash or GENESIS), current.version
    recorded = now or utcnow()
    out: list[StoredEvent] = []
    for ev in new:
        seq += 1
        version = DATA_MODELS[ev.type].schema_version
        fields = {"incident_id": incident_id, "seq": seq, "type": ev.type.value, "schema_version": version,
                  "at": iso(ev.at), "recorded_at": iso(recorded), "actor": ev.actor,
                  "data": canonical_data(ev.data), "idempotency_key": ev.idempotency_key, "prev_hash": prev}
        h = event_hash(fields)
        stored = StoredEvent(incident_id=incident_id, seq=seq, type=ev.type, schema_version=version,
                             at=parse_iso(fields["at"]), recorded_at=parse_iso(fields["recorded_at"]), actor=ev.actor,
                             data=ev.data, idempotency_key=ev.idempotency_key, prev_hash=prev, hash=h)
        current = apply(current, stored)
        out.append(stored)
        prev = h
    return out, current


DETAILS = ("alerts", "hypotheses", "decision", "outlined")  # what the stored projection leaves to the events


class KnownViews:
    """Alert views and whole diagnoses this process folded or appended, by incident, at their
    version and head hash. Events never change, so the details of a version are known for good: a
    warm writer (the detection function in a storm) folds an incident's events once, not on every
    append."""

    def __init__(self, max_views: int = 20_000):
        self.max_views = max_views
        self._by_incident: dict[str, tuple[int, str, dict[str, Any]]] = {}

    def get(self, state: IncidentState) -> dict[str, Any] | None:
        """The `DETAILS` fields of `state`'s version, to update it with (None: not known)."""
        known = self._by_incident.get(state.incident_id)
        return known[2] if known is not None and known[:2] == (state.version, state.last_hash) else None

    def put(self, state: IncidentState) -> None:
        if not state.complete:
            return
        self._by_incident.pop(state.incident_id, None)
        self._by_incident[state.incident_id] = (state.version, state.last_hash,
                                                {k: getattr(state, k) for k in DETAILS})
        total = sum(len(v[2]["alerts"]) for v in self._by_incident.values())
        while total > self.max_views and len(self._by_incident) > 1:  # the incident used longest ago goes
            total -= len(self._by_incident.pop(next(iter(self._by_incident)))[2]["alerts"])


class EventStore(abc.ABC):
    """Append-only incident events with a projection per incident, in one region."""

    region: str = "local"

    @abc.abstractmethod
    def get_head(self, incident_id: str) -> IncidentState | None:
        """The projection as stored: its alert views are ALERTS_NOT_READ unless it has none or they
        are stored (archived), its diagnosis an outline (`IncidentState.outline`). For writers and
        lists, which need the incident's summary only."""

    def get_state(self, incident_id: str) -> IncidentState | None:
        """The whole incident, alert views and diagnosis folded from its events: what the API and
        agents read."""
        return self.with_alerts(self.get_head(incident_id))

    def with_alerts(self, state: IncidentState | None) -> IncidentState | None:
        """`state` with its alert views and whole diagnosis, folded from its events up to its version
        (one query; reads cost a fraction of what storing them in every append's projection write
        did), or taken from what this process last folded or appended at that very version."""
        if state is None or state.complete:
            return state
        known = self._known_views.get(state)
        if known is not None:
            return state.model_copy(update=known)
        current, items = self.snapshot(state.incident_id, state)
        state = current or state
        events = [from_item(i) for i in items if int(i["seq"]) <= state.version]
        folded = fold(state.incident_id, events)
        state = state.model_copy(update={k: getattr(folded, k) for k in DETAILS})
        self._known_views.put(state)
        return state

    @property
    def _known_views(self) -> KnownViews:
        known = self.__dict__.get("_views")
        if known is None:
            known = self.__dict__["_views"] = KnownViews()
        return known

    @abc.abstractmethod
    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        """Stored events exactly as stored (for verification), ordered by seq."""

    @abc.abstractmethod
    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        """Write atomically. Return None on success; the already-stored events when an idempotency key
        was seen before (nothing is written then); raise ConcurrencyError when the version moved."""

    @abc.abstractmethod
    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        """Projections as stored (like `get_head`), newest first; `with_alerts` adds the views."""

    # --- maintenance: integrity repair and retention (never used by the agents) ----------------
    @abc.abstractmethod
    def write_items(self, incident_id: str, items: Sequence[dict[str, Any]]) -> None:
        """Put stored events exactly as given, replacing what is at their seq (repair)."""

    @abc.abstractmethod
    def delete_items(self, incident_id: str, seqs: Sequence[int]) -> None: ...

    @abc.abstractmethod
    def put_state(self, state: IncidentState, expected_version: int | None) -> None:
        """Replace the projection (repair); only if its stored version is still `expected_version`
        (None: only if there is none). Raises ConcurrencyError otherwise."""

    @abc.abstractmethod
    def expire(self, incident_id: str, items: Sequence[dict[str, Any]], expires_at: int) -> int:
        """Give these events (unchanged since read: same hash) and their idempotency markers the TTL
        `expires_at` (epoch seconds). Returns how many events were marked."""

    @abc.abstractmethod
    def closed_before(self, cutoff: datetime, limit: int = 100) -> list[IncidentState]:
        """Resolved incidents not yet archived whose resolution is older than `cutoff`, oldest first
        (projections as stored)."""

    # --- shared behaviour -----------------------------------------------------------------------
    def read(self, incident_id: str) -> list[StoredEvent]:
        return [from_item(i) for i in self.read_items(incident_id)]

    def snapshot(self, incident_id: str, state: IncidentState | None = None,
                 re_reads: int = 3) -> tuple[IncidentState | None, list[dict[str, Any]]]:
        """The projection and the stored events, consistent with each other.

        They are two reads: an append landing between them makes the last stored event and the
        projection's version differ for a moment, so then both are read again. A difference that
        stays (an event forged or lost) is returned as read, for verification to report.
        """
        state = state or self.get_head(incident_id)
        for _ in range(re_reads + 1):
            items = self.read_items(incident_id)
            last = int(items[-1]["seq"]) if items else 0
            if state is None or last == state.version:
                break
            fresh = self.get_head(incident_id)
            if fresh is None or fresh.version == state.version:
                break  # nobody appended: the difference is real
            state = fresh
        return state, items

    def append(self, incident_id: str, expected_version: int, events: Sequence[NewEvent],
               now: datetime | None = None, state: IncidentState | None = None
               ) -> tuple[list[StoredEvent], IncidentState]:
        """Append `events` after version `expected_version` (0 for a new incident). `state`: the
        projection the caller just read at that version (saves reading it again)."""
        if state is None or state.version != expected_version:
            state = self.get_head(incident_id)
        current_version = state.version if state else 0
        if current_version != expected_version:
            raise ConcurrencyError(f"{incident_id}: expected version {expected_version}, found {current_version}",
                                   state)
        if state is not None and not state.complete:
            known = self._known_views.get(state)  # carried along even when these events do not need them
            if known is not None:
                state = state.model_copy(update=known)
            elif any(needs_alerts(e.type, e.data) for e in events):
                state = self.with_alerts(state)
                if state is None or state.version != expected_version:
                    raise ConcurrencyError(f"{incident_id}: version {expected_version} moved while reading its "
                                           "alerts", state)
        stored, new_state = chain(state, incident_id, events, now)
        duplicates = self._commit(incident_id, expected_version, stored, new_state)
        if duplicates is not None:
            return duplicates, self.get_head(incident_id) or new_state
        self._known_views.put(new_state)
        return stored, new_state


def append_with_retry(store: EventStore, incident_id: str,
                      decide: Callable[[IncidentState | None], Sequence[NewEvent]],
                      attempts: int = DEFAULT_ATTEMPTS, now: datetime | None = None,
                      stats: dict[str, int] | None = None) -> tuple[list[StoredEvent], IncidentState | None]:
    """Read, decide, append; on a conflict decide again on the state that won (jittered backoff).

    `decide` sees the current projection and returns the events to append ([] for none): it must
    be safe to call more than once. `stats["conflicts"]` counts the conflicts met, when given.
    """
    state = store.get_head(incident_id)  # the append reads the alert views only when its events need them
    for attempt in range(attempts):
        events = list(decide(state))
        if not events:
            return [], state
        try:
            return store.append(incident_id, state.version if state else 0, events, now, state=state)
        except ConcurrencyError as exc:
            if stats is not None:
                stats["conflicts"] = stats.get("conflicts", 0) + 1
            if attempt == attempts - 1:
                raise
            time.sleep(min(BACKOFF_CAP_S, 0.004 * (2 ** attempt)) * _JITTER.random())
            # the state the failed write returned, even after the sleep: measured against re-reading
            # (benchmarks/event_store.py, 8 writers on one incident) it halves the conflicts per append
            state = exc.current if exc.current is not None else store.get_head(incident_id)
    raise ConcurrencyError(incident_id)  # unreachable
