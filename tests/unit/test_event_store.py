"""Event store semantics on the in-memory adapter (the DynamoDB adapter runs the same suite in integration)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from incident_commander.models.events import EventType, IncidentOpened, MonitoringStarted, NewEvent
from incident_commander.store.hashing import event_hash
from incident_commander.store.integrity import verify_chain
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import ConcurrencyError, append_with_retry

AT = datetime(2026, 1, 1, tzinfo=UTC)


def opened(key: str | None = "open") -> NewEvent:
    return NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "test", key)


def note(i: int, key: str | None = None) -> NewEvent:
    return NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=f"n{i}"), AT, "test", key)


@pytest.fixture()
def store():
    return InMemoryEventStore()


def test_append_chains_and_folds(store):
    store.append("i1", 0, [opened()])
    events, state = store.append("i1", 1, [note(1), note(2)])
    assert [e.seq for e in events] == [2, 3] and state.version == 3 and state.title == "t"
    items = store.read_items("i1")
    assert items[1]["prev_hash"] == items[0]["hash"] and verify_chain("i1", items, state.last_hash, 3).ok


def test_stale_version_is_a_conflict_and_nothing_is_written(store):
    store.append("i1", 0, [opened()])
    with pytest.raises(ConcurrencyError):
        store.append("i1", 0, [note(1)])
    assert len(store.read_items("i1")) == 1


def test_idempotent_append_stores_once(store):
    store.append("i1", 0, [opened()])
    first, _ = store.append("i1", 1, [note(1, key="k1")])
    again, state = append_with_retry(store, "i1", lambda s: [note(1, key="k1")])
    assert again[0].seq == first[0].seq and state.version == 2 and len(store.read_items("i1")) == 2


@pytest.mark.parametrize("tamper, problem", [
    (lambda items: items[1].update(actor="mallory"), "modified"),
    (lambda items: items.pop(1), "missing"),
    (lambda items: items.__setitem__(slice(1, 3), [items[2], items[1]]), "missing"),
])
def test_tampering_is_named(store, tamper, problem):
    store.append("i1", 0, [opened(), note(1), note(2), note(3)])
    items = store.read_items("i1")
    tamper(items)
    result = verify_chain("i1", items, store.get_state("i1").last_hash, 4)
    assert not result.ok and result.first_bad_seq == 2 and problem in result.problem


def test_a_forged_event_with_a_valid_own_hash_is_detected(store):
    store.append("i1", 0, [opened(), note(1), note(2)])
    items = store.read_items("i1")
    forged = dict(items[1], data='{"reason":"forged"}')
    forged["hash"] = event_hash(forged)
    items[1] = forged
    result = verify_chain("i1", items, store.get_state("i1").last_hash, 3)
    assert not result.ok and result.first_bad_seq == 3  # the next event no longer links to it
