"""Optimistic concurrency and idempotency on the in-memory store (the DynamoDB adapter runs the same
proof against the local stack in tests/integration/test_event_store_dynamodb.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from incident_commander.models.events import EventType, IncidentOpened, MonitoringStarted, NewEvent
from incident_commander.store.integrity import verify_chain
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import ConcurrencyError, append_with_retry

AT = datetime(2026, 1, 1, tzinfo=UTC)


def opened() -> NewEvent:
    return NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "test", "open")


def note(reason: str, key: str | None = None) -> NewEvent:
    return NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=reason), AT, "test", key)


def hammer(store, writers: int, per_writer: int, duplicate_every: int = 0) -> dict[str, int]:
    """`writers` threads each append `per_writer` events to one incident; every `duplicate_every`-th
    event is appended a second time with the same idempotency key (a retried request)."""
    stats: dict[str, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def writer(w: int) -> None:
        start.wait()
        try:
            for i in range(per_writer):
                key = f"w{w}/{i}"
                append_with_retry(store, "i1", lambda _s, k=key: [note(k, k)], attempts=500, stats=stats)
                if duplicate_every and i % duplicate_every == 0:
                    append_with_retry(store, "i1", lambda _s, k=key: [note(k, k)], attempts=500, stats=stats)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return stats


def test_eight_writers_lose_nothing_and_duplicate_nothing():
    store = InMemoryEventStore()
    store.append("i1", 0, [opened()])
    stats = hammer(store, writers=8, per_writer=500, duplicate_every=10)
    items, state = store.read_items("i1"), store.get_state("i1")
    reasons = [i["data"] for i in items[1:]]
    assert len(items) == 1 + 8 * 500 == state.version  # every event once, the retried ones too
    assert len(set(reasons)) == len(reasons)
    assert [i["seq"] for i in items] == list(range(1, len(items) + 1))  # contiguous versions
    assert verify_chain("i1", items, state.last_hash, state.version).ok
    assert stats.get("conflicts", 0) > 0  # the writers really did collide


def test_a_stale_append_fails_cleanly_and_writes_nothing():
    store = InMemoryEventStore()
    store.append("i1", 0, [opened()])
    store.append("i1", 1, [note("a")])
    with pytest.raises(ConcurrencyError) as caught:
        store.append("i1", 1, [note("b")])
    assert caught.value.current is not None and caught.value.current.version == 2  # the state that won
    assert len(store.read_items("i1")) == 2


def test_a_repeated_idempotency_key_returns_the_stored_event():
    store = InMemoryEventStore()
    store.append("i1", 0, [opened()])
    first, _ = store.append("i1", 1, [note("x", "k1"), note("y", "k2")])
    again, state = append_with_retry(store, "i1", lambda _s: [note("x", "k1"), note("y", "k2")])
    assert [e.seq for e in again] == [e.seq for e in first] == [2, 3]
    assert state.version == 3 and len(store.read_items("i1")) == 3


def test_decide_sees_the_state_that_won():
    store = InMemoryEventStore()
    store.append("i1", 0, [opened()])
    seen: list[int] = []

    def decide(state):
        seen.append(state.version)
        if len(seen) == 1:  # another writer gets in between our read and our write
            store.append("i1", state.version, [note("other")])
        return [note(f"after {state.version}")]

    stored, state = append_with_retry(store, "i1", decide)
    assert seen == [1, 2] and stored[0].seq == 3 and stored[0].data["reason"] == "after 2"


def test_an_append_landing_between_the_two_reads_of_a_verification_is_not_damage():
    from incident_commander.store.archive import read_verified

    class AppendDuringRead(InMemoryEventStore):
        """Another writer appends right after the projection was read, before the events are."""

        def __init__(self) -> None:
            super().__init__()
            self.appends_left = 2

        def read_items(self, incident_id):
            if self.appends_left:
                self.appends_left -= 1
                s = self.states[incident_id]
                self.append(incident_id, s.version, [note(f"meanwhile {self.appends_left}")], state=s)
            return super().read_items(incident_id)

    store = AppendDuringRead()
    store.append("i1", 0, [opened()])
    stale = store.get_state("i1")
    items, result = read_verified(store, "i1", stale)
    assert result.ok and result.events == len(items) == 3
    store.items["i1"][4] = dict(items[-1], seq=4, prev_hash=items[-1]["hash"])  # an event no writer appended
    _, result = read_verified(store, "i1", store.get_state("i1"))
    assert not result.ok and result.first_bad_seq == 4
