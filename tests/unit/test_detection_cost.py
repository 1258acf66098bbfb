"""What detection writes and reads per alert in a storm: repeats read no index entry in a warm
container (unless another writer touched the scope), the pending list is written once per wake-up
rather than per batch, and the scope state is stored compressed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from incident_commander import names as n
from incident_commander.adapters.detection_store import DynamoDetectionStore
from incident_commander.config import Settings
from incident_commander.detection.engine import DetectionEngine
from incident_commander.detection.ports import InMemoryDetectionStore, RecordingWorkflow, StaleScopeError
from incident_commander.detection.state import OpenIncident, ScopeState
from incident_commander.ingest import parse
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

from tests.helpers import TOPOLOGY, am_alert, am_body

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOPO = Topology.parse_yaml(TOPOLOGY)


class CountingStore(InMemoryDetectionStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[tuple[str, str]]] = []
        self.pending_writes = 0
        self.fail_next_save = False

    def get_alerts(self, keys):
        self.reads.append(sorted(keys))
        return super().get_alerts(keys)

    def put_pending(self, incident_id, scope, due):
        self.pending_writes += 1
        super().put_pending(incident_id, scope, due)

    def save_scope(self, state, expected_version):
        if self.fail_next_save:
            self.fail_next_save = False
            raise StaleScopeError(state.scope)
        super().save_scope(state, expected_version)


def container(store: CountingStore, events: InMemoryEventStore, workflow=None) -> DetectionEngine:
    """One warm detection container (engines share the tables, not their memory)."""
    return DetectionEngine(Settings(), store, events, workflow or RecordingWorkflow(), lambda: TOPO)


def batch(*specs, at=T0):
    return parse("alertmanager", am_body(*[am_alert(name, svc, at, status=st) for name, svc, st in specs]), at)


def keys(alerts):
    return sorted((a.source, a.key) for a in alerts)


def test_a_warm_container_reads_the_index_only_for_alerts_it_has_not_written():
    store, events = CountingStore(), InMemoryEventStore()
    eng = container(store, events)
    first = batch(("HighRequestErrorRate", "api", "firing"), ("HighRequestLatency", "web", "firing"))
    eng.process(first, "b1")
    new = batch(("DBConnectionsExhausted", "db", "firing"), at=T0 + timedelta(seconds=10))
    for i in range(2, 6):  # the storm goes on: the same two alerts again, and one new one once
        eng.process(batch(("HighRequestErrorRate", "api", "firing"), ("HighRequestLatency", "web", "firing"),
                          at=T0 + timedelta(seconds=10 * i)) + (new if i == 2 else []), f"b{i}")
    assert store.reads == [keys(first), keys(new), [], [], []]
    (state,) = [s for s in events.states.values()]
    eng.tick(T0 + timedelta(minutes=10))
    assert events.states[state.incident_id].alert_deliveries == 2 + 4 * 2 + 1  # every delivery counted


def test_after_another_container_saved_the_scope_the_index_is_read_again_and_its_changes_seen():
    store, events = CountingStore(), InMemoryEventStore()
    a, b = container(store, events), container(store, events)
    a.process(batch(("HighRequestErrorRate", "api", "firing")), "b1")
    b.process(batch(("HighRequestErrorRate", "api", "resolved"), at=T0 + timedelta(seconds=10)), "b2")
    again = batch(("HighRequestErrorRate", "api", "firing"), at=T0 + timedelta(seconds=20))
    result = a.process(again, "b3")
    assert store.reads[-1] == keys(again)
    assert result.updated == 1 and result.duplicates == 0  # firing again after B resolved it: a change
    (state,) = events.states.values()
    (view,) = events.get_state(state.incident_id).alerts.values()
    assert view.status == "firing"


def test_a_batch_whose_save_fails_leaves_nothing_cached():
    store, events = CountingStore(), InMemoryEventStore()
    eng = container(store, events)
    one = batch(("HighRequestErrorRate", "api", "firing"))
    eng.process(one, "b1")
    store.fail_next_save = True
    with pytest.raises(StaleScopeError):
        eng.process(batch(("HighRequestErrorRate", "api", "firing"), at=T0 + timedelta(seconds=10)), "b2")
    eng.process(batch(("HighRequestErrorRate", "api", "firing"), at=T0 + timedelta(seconds=20)), "b3")
    assert store.reads == [keys(one), [], keys(one)]  # b2 knew it, failed, and b3 reads it again


def test_the_pending_entry_is_written_once_per_wake_up_not_per_batch_and_diagnosis_is_not_late():
    store, events, wf = CountingStore(), InMemoryEventStore(), RecordingWorkflow()
    eng = container(store, events, wf)  # settle: 90 s quiet, 300 s at most
    for i in range(11):  # a new alert every 10 s pushes the quiet deadline each time
        eng.process(batch((f"Alert{i}", "api", "firing"), at=T0 + timedelta(seconds=10 * i)), f"b{i}")
    assert store.pending_writes <= 2  # not 11
    last = T0 + timedelta(seconds=100)
    for t in range(60, 200, 10):  # the scheduler: what it finds due, as in AWS (here every 10 s)
        eng.tick(T0 + timedelta(seconds=t))
        if T0 + timedelta(seconds=t) < last + timedelta(seconds=90):
            assert not wf.started, t
    assert len(wf.started) == 1 and store.pending_writes <= 4


def test_the_scope_state_is_stored_compressed_and_an_uncompressed_one_still_reads(monkeypatch):
    from moto import mock_aws

    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session's local stack may be up: stay in-process
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(TableName="det", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": n.PK, "KeyType": "HASH"}, {"AttributeName": n.SK, "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": n.PK, "AttributeType": "S"},
                                               {"AttributeName": n.SK, "AttributeType": "S"}])
        store = DynamoDetectionStore("det", ddb)
        state = ScopeState(scope="cluster:c1", clock=T0, incidents=[
            OpenIncident(id=f"inc-{i}", first_at=T0, last_at=T0, last_received_at=T0, namespaces=["prod"],
                         unresolved={f"svc-{j}": T0 for j in range(5)}) for i in range(10)])
        store.save_scope(state, 0)
        item = ddb.get_item(TableName="det", Key={n.PK: {"S": f"{n.DETECTION_SCOPE_PREFIX}cluster:c1"},
                                                  n.SK: {"S": "STATE"}})["Item"]
        assert len(item["state"]["B"]) * 3 < len(state.model_dump_json())
        assert store.load_scope("cluster:c1") == state
        ddb.put_item(TableName="det", Item={**{n.PK: {"S": f"{n.DETECTION_SCOPE_PREFIX}old"}, n.SK: {"S": "STATE"}},
                                            "version": {"N": "4"},
                                            "state": {"S": ScopeState(scope="old", version=4).model_dump_json()}})
        assert store.load_scope("old").version == 4


def test_alerts_that_keep_repeating_past_the_window_are_counted_per_flush_interval_not_per_batch():
    store, events, wf = CountingStore(), InMemoryEventStore(), RecordingWorkflow()
    eng = container(store, events, wf)
    def resend(at):  # what Alertmanager re-sends while the alerts keep firing: same labels, same startsAt
        return parse("alertmanager", am_body(*[{**am_alert(name, svc, at), "startsAt": T0.isoformat()}
                                               for name, svc in (("HighRequestErrorRate", "api"),
                                                                 ("HighRequestLatency", "web"))]), at)

    eng.process(resend(T0), "b0")
    batches = 180  # every 10 s for 30 minutes: twice the 900 s window, no new alert after the first batch
    for i in range(1, batches + 1):
        at = T0 + timedelta(seconds=10 * i)
        eng.process(resend(at), f"b{i}")
        if i % 6 == 0:
            eng.tick(at)  # the scheduler, once a minute
    (incident_id,) = events.states
    assert list(wf.started) == [incident_id]
    appends = len(events.read(incident_id))
    assert appends < 45, appends  # a count per count_flush_seconds, plus opening, diagnosis dispatch; not 180
    eng.tick(T0 + timedelta(seconds=10 * batches + 120))
    assert events.get_state(incident_id).alert_deliveries == 2 * (batches + 1)  # every delivery counted
