"""Reads that fail over to a replica region when the home region errors; writes that never do.

The tables are DynamoDB global tables with a replica in every configured region
(`IC_REPLICA_REGIONS`). Reads go to the home region and, when it raises StoreUnavailable, to the
replicas in the configured order (a replica may lag the home region by the replication delay,
typically under a second). Appends go to the home region only: optimistic concurrency holds
within one region, while global tables settle concurrent writes in two regions by last writer
wins, which could fork the chain. An append while the home region is down fails, and the agents
retry it (Lambda / Step Functions retries) until the region is back.

The home region's reads sit behind a circuit breaker: once it has failed `failure_threshold` times
in its window, reads go straight to the replicas for `open_seconds`, then probe the home region
again. This circuit is the container's own (an in-memory state store): the shared breaker state
lives in the control table, in the very region that is failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ..models.events import StoredEvent
from ..models.incident import IncidentState
from .port import EventStore, Page, StoreUnavailable

HOME_CIRCUIT = "dynamodb:home"

T = TypeVar("T")
log = logging.getLogger(__name__)


class FailoverEventStore(EventStore):
    def __init__(self, home: EventStore, replicas: Sequence[EventStore], circuit: Any = None):
        from ..resilience.breaker import CircuitBreaker
        from ..resilience.store import InMemoryStateStore

        self.home = home
        self.replicas = [r for r in replicas if r.region != home.region]
        self.region = home.region
        self.last_read_region = home.region  # where the latest read was served from (health, tests)
        self.circuit = circuit or CircuitBreaker(HOME_CIRCUIT, InMemoryStateStore())

    def regions(self) -> dict[str, EventStore]:
        """Every region's own store, home first (integrity checks compare them)."""
        return {self.home.region: self.home, **{r.region: r for r in self.replicas}}

    def _read(self, fn: Callable[[EventStore], T]) -> T:
        errors: list[StoreUnavailable] = []
        for store in (self.home, *self.replicas):
            home = store is self.home
            if home and not self.circuit.allow():
                errors.append(StoreUnavailable(store.region, f"{HOME_CIRCUIT} circuit open: not called"))
                continue
            try:
                result = fn(store)
            except StoreUnavailable as exc:
                log.warning("read failed over: %s", exc)
                errors.append(exc)
                if home:
                    self.circuit.record_failure(str(exc)[:200])
                continue
            if home:
                self.circuit.record_success()
            self.last_read_region = store.region
            return result
        raise StoreUnavailable(",".join(e.region for e in errors), "every region failed: "
                               + "; ".join(str(e) for e in errors))

    def get_head(self, incident_id: str) -> IncidentState | None:
        return self._read(lambda s: s.get_head(incident_id))

    def get_state(self, incident_id: str) -> IncidentState | None:  # projection and events from one region
        return self._read(lambda s: s.get_state(incident_id))

    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        return self._read(lambda s: s.read_items(incident_id))

    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        return self._read(lambda s: s.list_states(limit, cursor, predicate))

    def closed_before(self, cutoff: datetime, limit: int = 100) -> list[IncidentState]:
        return self._read(lambda s: s.closed_before(cutoff, limit))

    # --- writes: the home region only ------------------------------------------------------------
    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        return self.home._commit(incident_id, expected_version, events, state)

    def append(self, incident_id: str, expected_version: int, events: Sequence[Any],
               now: datetime | None = None, state: IncidentState | None = None):
        return self.home.append(incident_id, expected_version, events, now, state)

    def write_items(self, incident_id: str, items: Sequence[dict[str, Any]]) -> None:
        self.home.write_items(incident_id, items)

    def delete_items(self, incident_id: str, seqs: Sequence[int]) -> None:
        self.home.delete_items(incident_id, seqs)

    def put_state(self, state: IncidentState, expected_version: int | None) -> None:
        self.home.put_state(state, expected_version)

    def expire(self, incident_id: str, items: Sequence[dict[str, Any]], expires_at: int) -> int:
        return self.home.expire(incident_id, items, expires_at)
