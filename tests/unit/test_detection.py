"""Detection engine: dedup, correlation by topology, flapping, idempotent redelivery, poison records."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from incident_commander.config import Settings
from incident_commander.detection.engine import DetectionEngine
from incident_commander.detection.kinesis_batch import handle_batch
from incident_commander.detection.ports import InMemoryCheckpoints, InMemoryDetectionStore, RecordingWorkflow
from incident_commander.ingest import parse
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

from tests.helpers import TOPOLOGY, am_alert, am_body

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def engine(settings: Settings | None = None):
    topo = Topology.parse_yaml(TOPOLOGY)
    events, wf = InMemoryEventStore(), RecordingWorkflow()
    return DetectionEngine(settings or Settings(), InMemoryDetectionStore(), events, wf, lambda: topo), events, wf


def alerts(*specs, at=T0):
    return parse("alertmanager", am_body(*[am_alert(*s, at=at) if isinstance(s, tuple) else s for s in specs]), at)


def partition(events: InMemoryEventStore) -> list[set[str]]:
    return sorted((set(s.alerts) for s in events.states.values()), key=lambda x: sorted(x))


def test_database_and_its_callers_are_one_incident_unrelated_service_is_another():
    eng, events, _ = engine()
    batch = alerts(("DBConnectionsExhausted", "db"), ("HighRequestErrorRate", "api"),
                   ("HighRequestLatency", "web"), ("LedgerWriteErrors", "ledger"))
    eng.process(batch, "b1")
    groups = partition(events)
    assert len(groups) == 2
    keys = {a.labels["service"]: a.key for a in batch}
    assert {keys["db"], keys["api"], keys["web"]} in groups and {keys["ledger"]} in groups


def test_every_alert_records_why_it_joined():
    eng, events, _ = engine()
    eng.process(alerts(("DBConnectionsExhausted", "db")), "b1")
    eng.process(alerts(("HighRequestErrorRate", "api"), at=T0 + timedelta(seconds=30)), "b2")
    (state,) = events.states.values()
    reasons = {a.service: a.reason for a in state.alerts.values()}
    assert reasons["db"]["rule"] == "opened"
    assert reasons["api"]["rule"] == "topology" and "db" in reasons["api"]["detail"]


def test_dedup_counts_repeats_without_new_alerts():
    eng, events, _ = engine()
    for i in range(3):
        eng.process(alerts(("HighRequestErrorRate", "api"), at=T0 + timedelta(seconds=10 * i)), f"b{i}")
    (state,) = events.states.values()
    assert state.distinct_alerts == 1 and state.alert_deliveries == 3


def test_flapping_alert_is_damped():
    eng, events, _ = engine()
    for i in range(8):
        status = "firing" if i % 2 == 0 else "resolved"
        eng.process(parse("alertmanager", am_body(am_alert("DiskFull", "db", T0 + timedelta(seconds=30 * i),
                                                           status=status)), T0 + timedelta(seconds=30 * i)), f"b{i}")
    assert len(events.states) == 1
    (state,) = events.states.values()
    (view,) = state.alerts.values()
    assert view.flapping
    updates = [i for i in events.read_items(state.incident_id) if i["type"] == "alerts.updated"]
    assert len(updates) < 7  # recorded until it is known to flap, then damped


def test_replaying_the_same_kinesis_batch_changes_nothing():
    eng, events, wf = engine(Settings.model_validate({"detection": {"settle_quiet_seconds": 0,
                                                                    "settle_max_seconds": 0}}))
    body = am_body(am_alert("HighRequestErrorRate", "api", T0), am_alert("DBDown", "db", T0))
    record = {"kinesis": {"sequenceNumber": "100", "data": base64.b64encode(json.dumps(
        {"kind": "alerts", "alerts": [a.model_dump(mode="json") for a in parse("alertmanager", body, T0)]}).encode()).decode(),
        "approximateArrivalTimestamp": T0.timestamp()}, "eventID": "shardId-0:100"}
    cps = InMemoryCheckpoints()
    handle_batch({"Records": [record]}, eng, cps)
    before = {i: len(events.read_items(i)) for i in events.states}
    response, result = handle_batch({"Records": [record]}, eng, cps)
    assert response == {"batchItemFailures": []} and result.alerts_in == 0
    assert {i: len(events.read_items(i)) for i in events.states} == before
    assert len(wf.started) == 1


def test_poison_record_is_a_batch_item_failure_and_the_rest_is_processed():
    eng, events, _ = engine()
    good = {"kinesis": {"sequenceNumber": "2", "data": base64.b64encode(json.dumps({"kind": "alerts", "alerts": [
        a.model_dump(mode="json") for a in alerts(("HighRequestErrorRate", "api"))]}).encode()).decode()},
        "eventID": "shardId-0:2"}
    poison = {"kinesis": {"sequenceNumber": "1", "data": base64.b64encode(b"not json").decode()}, "eventID": "shardId-0:1"}
    wrong = {"kinesis": {"sequenceNumber": "3", "data": base64.b64encode(b'{"hello": 1}').decode()}, "eventID": "shardId-0:3"}
    response, result = handle_batch({"Records": [poison, good, wrong]}, eng, InMemoryCheckpoints())
    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}]}
    assert result.alerts_in == 1 and len(events.states) == 1 and len(result.poison) == 2


def test_workflow_starts_once_when_the_incident_settles():
    eng, events, wf = engine()
    eng.process(alerts(("HighRequestErrorRate", "api")), "b1")
    assert wf.started == {}
    assert eng.tick(T0 + timedelta(seconds=30)) == []
    (incident_id,) = events.states
    assert eng.tick(T0 + timedelta(seconds=600)) == [incident_id]
    assert eng.tick(T0 + timedelta(seconds=900)) == [] and list(wf.started) == [incident_id]


def test_severity_floor_and_resolved_first_are_noise():
    eng, events, _ = engine()
    r = eng.process(alerts(am_alert("Watchdog", "web", T0, severity="info"), am_alert("X", "api", T0, status="resolved")),
                    "b1")
    assert r.noise == 2 and events.states == {}
