"""Detection killed mid-batch (after some writes, before its scope state was saved), then the batch
redelivered whole or bisected, as Lambda does: the result is the uninterrupted run's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from incident_commander.detection.kinesis_batch import handle_batch
from incident_commander.detection.ports import InMemoryDetectionStore

from tests.helpers import am_alert, am_body

from .test_detection import T0, engine, kinesis_event, partition


class Crash(RuntimeError):
    pass


class CrashingStore(InMemoryDetectionStore):
    """Dies at the n-th save of a scope, after the batch's events and index entries were written."""

    def __init__(self, crash_at: set[int]):
        super().__init__()
        self.saves, self.crash_at = 0, crash_at

    def save_scope(self, state, expected_version):
        self.saves += 1
        if self.saves in self.crash_at:
            raise Crash("killed before saving the scope")
        super().save_scope(state, expected_version)


def storm_event():
    from incident_commander.ingest import parse

    batches = [parse("alertmanager", am_body(am_alert("DBConnectionsExhausted", "db", T0)), T0)]
    for i in range(1, 5):
        at = T0 + timedelta(seconds=10 * i)
        batches.append(parse("alertmanager", am_body(am_alert("HighRequestErrorRate", "api", at, extra={"pod": f"p{i}"}),
                                                     am_alert("HighRequestLatency", "web", at, extra={"pod": f"p{i}"})),
                             at))
    return kinesis_event(batches)


def deliver(eng, batch, retries: int = 1) -> None:
    """As Lambda does: redeliver a failed batch, then split it and deliver each half."""
    for _ in range(retries + 1):
        try:
            handle_batch({"Records": batch}, eng)
            return
        except Crash:
            continue
    mid = len(batch) // 2
    for half in (batch[:mid], batch[mid:]):
        deliver(eng, half, retries)


def run(crash_at: set[int]):
    eng, events, wf = engine({"settle_quiet_seconds": 600, "settle_max_seconds": 600})
    eng.store = CrashingStore(crash_at)
    records = storm_event()["Records"]
    deliver(eng, records[:2])
    deliver(eng, records[2:])
    eng.store.crash_at = set()
    eng.tick(T0 + timedelta(hours=1))
    return partition(events), sorted(wf.started), events


@pytest.mark.parametrize("crash_at", [{1}, {2}, {2, 3}, {1, 2, 3, 4}])
def test_a_batch_killed_before_its_save_is_applied_once_when_redelivered(crash_at):
    expected, started, _ = run(set())
    got, got_started, events = run(crash_at)
    assert got == expected and len(got) == 1 and len(got[0]) == 9  # one incident, every alert in it
    assert got_started == started  # and it is diagnosed: no incident left behind undispatched
    assert [s.distinct_alerts for s in events.states.values()] == [9]
