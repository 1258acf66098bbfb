"""The hash chain names the first bad event for any modification, deletion, reordering or forgery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from incident_commander.models.events import EventType, IncidentOpened, MonitoringStarted, NewEvent
from incident_commander.store.hashing import HASHED_FIELDS, event_hash
from incident_commander.store.integrity import verify_chain
from incident_commander.store.memory import InMemoryEventStore

AT = datetime(2026, 1, 1, tzinfo=UTC)
N = 6


def chain_of(n: int = N) -> tuple[list[dict], str]:
    store = InMemoryEventStore()
    evs = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "test", "open")]
    evs += [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=f"n{i}"), AT, "test", f"k{i}")
            for i in range(n - 1)]
    _, state = store.append("i1", 0, evs)
    return store.read_items("i1"), state.last_hash


def check(items: list[dict], head: str):
    return verify_chain("i1", items, head, N)


def test_an_untouched_chain_verifies_and_a_ttl_is_not_tampering():
    items, head = chain_of()
    assert check(items, head).ok
    items[2]["expires_at"] = 1_900_000_000  # retention's TTL attribute is not part of the event
    assert check(items, head).ok


@settings(max_examples=60, deadline=None)
@given(seq=st.integers(1, N), field=st.sampled_from([*HASHED_FIELDS, "hash"]), value=st.text(max_size=5))
def test_changing_any_stored_attribute_is_named(seq, field, value):
    items, head = chain_of()
    original = items[seq - 1][field]
    items[seq - 1][field] = value if value != original else value + "x"
    result = check(items, head)
    assert not result.ok and result.first_bad_seq == seq, result


@settings(max_examples=20, deadline=None)
@given(seq=st.integers(1, N))
def test_deleting_any_event_is_named(seq):
    items, head = chain_of()
    del items[seq - 1]
    result = check(items, head)
    assert not result.ok and result.first_bad_seq == seq and "missing" in result.problem, result


@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, N), b=st.integers(1, N))
def test_reordering_events_in_place_is_named(a, b):
    """Swapping two events' contents under their keys (seq is the table's sort key)."""
    if a == b:
        return
    items, head = chain_of()
    first, second = items[a - 1], items[b - 1]
    items[a - 1] = {**second, "seq": a}
    items[b - 1] = {**first, "seq": b}
    result = check(items, head)
    assert not result.ok and result.first_bad_seq == min(a, b), result


@settings(max_examples=20, deadline=None)
@given(seq=st.integers(1, N))
def test_a_forged_event_whose_own_hash_recomputes_is_named(seq):
    items, head = chain_of()
    forged = dict(items[seq - 1], actor="mallory")
    forged["hash"] = event_hash(forged)
    items[seq - 1] = forged
    result = check(items, head)
    # the event after it no longer links to it; for the last event, the projection's head differs
    assert not result.ok and result.first_bad_seq == min(seq + 1, N), result


def test_an_event_forged_onto_the_end_and_an_added_attribute_are_named():
    items, head = chain_of()
    extra = dict(items[-1], seq=N + 1, prev_hash=items[-1]["hash"], actor="mallory")
    extra["hash"] = event_hash(extra)
    result = verify_chain("i1", [*items, extra], head, N)
    assert not result.ok and result.first_bad_seq == N + 1 and "not appended through the store" in result.problem
    items[3]["approved_by"] = "mallory"
    result = check(items, head)
    assert not result.ok and result.first_bad_seq == 4 and "approved_by" in result.problem


@pytest.mark.parametrize("version", [N - 1, N + 1])
def test_a_projection_that_disagrees_with_the_events_is_named(version):
    items, head = chain_of()
    result = verify_chain("i1", items, head, version)
    assert not result.ok and result.first_bad_seq == min(version, N) + 1
