"""Detection engine: dedup, correlation by topology, flapping, thresholds, storms, idempotent redelivery."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.config import Settings
from incident_commander.detection.engine import DetectionEngine, correlation_scope
from incident_commander.detection.kinesis_batch import handle_batch
from incident_commander.detection.ports import InMemoryDetectionStore, RecordingWorkflow
from incident_commander.detection.records import encode as to_records
from incident_commander.detection.state import AlertRecord
from incident_commander.ingest import parse
from incident_commander.models.incident import fold
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

from tests.helpers import TOPOLOGY, am_alert, am_body

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def engine(settings: Settings | dict | None = None, topology: str = TOPOLOGY):
    topo = Topology.parse_yaml(topology)
    if isinstance(settings, dict):
        settings = Settings.model_validate({"detection": settings})
    events, wf, store = InMemoryEventStore(), RecordingWorkflow(), InMemoryDetectionStore()
    eng = DetectionEngine(settings or Settings(), store, events, wf, lambda: topo)
    return eng, events, wf


def alerts(*specs, at=T0):
    return parse("alertmanager", am_body(*[am_alert(*s, at=at) if isinstance(s, tuple) else s for s in specs]), at)


def partition(events: InMemoryEventStore) -> list[set[str]]:
    return sorted((set(s.alerts) for s in events.states.values() if s.alerts), key=lambda x: sorted(x))


def kinesis_event(batches, shard="shardId-000000000000", topo: Topology | None = None, start_seq=100):
    """A Lambda Kinesis event whose records are what the API writes for each list of alerts."""
    topo = topo or Topology.parse_yaml(TOPOLOGY)
    records, seq = [], start_seq
    for batch in batches:
        for data, pk in to_records(batch, lambda a: correlation_scope(a, topo)):
            seq += 1
            records.append({"kinesis": {"partitionKey": pk, "sequenceNumber": str(seq),
                                        "data": base64.b64encode(data).decode(),
                                        "approximateArrivalTimestamp": T0.timestamp()},
                            "eventID": f"{shard}:{seq}"})
    return {"Records": records}


# --- correlation ----------------------------------------------------------------------------------
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


def test_an_alert_past_the_window_opens_a_new_incident():
    eng, events, _ = engine({"window_seconds": 300})
    eng.process(alerts(("HighRequestErrorRate", "api")), "b1")
    eng.process(alerts(("DBDown", "db"), at=T0 + timedelta(seconds=301)), "b2")
    assert len(partition(events)) == 2


SHOP = """
services:
  gateway: {depends_on: [shop]}
  shop: {depends_on: [payments, queue, flags]}
  payments: {depends_on: [flags]}
  ledger: {depends_on: [queue, flags]}
  search: {depends_on: [flags]}
  reports: {depends_on: [flags]}
  queue: {}
  flags: {}
"""


@pytest.mark.parametrize("first, second, incidents", [
    # ledger reads the queue shop writes to: shop failing starves it, though neither depends on the other
    (("HighRequestErrorRate", "shop"), ("NoRequestsReceived", "ledger"), 1),
    # everything calls `flags`: search starving says nothing about reports failing
    (("KubePodCrashLooping", "reports"), ("NoRequestsReceived", "search"), 2),
    # two services failing by themselves, neither depending on the other: two problems
    (("KubePodNotReady", "payments"), ("KubePodCrashLooping", "search"), 2),
    # a service failing by itself below the one already failing: one problem
    (("HighRequestErrorRate", "gateway"), ("KubePodCrashLooping", "payments"), 1),
], ids=["starved-consumer-joins-its-producer", "shared-platform-dependency-is-no-channel",
        "independent-self-failures", "self-failure-below"])
def test_what_an_alert_says_decides_what_can_explain_it(first, second, incidents):
    eng, events, _ = engine(topology=SHOP)
    eng.process(alerts(first), "b1")
    eng.process(alerts(second, at=T0 + timedelta(seconds=40)), "b2")
    assert len(partition(events)) == incidents


def test_an_alert_naming_a_dependency_is_about_that_link():
    """`QueueConsumerLag` on ledger points at ledger or the queue, not at the flags everyone shares."""
    eng, events, _ = engine(topology=SHOP)
    eng.process(alerts(("HighQueueConsumerLag", "ledger")), "b1")
    eng.process(alerts(("HighRequestErrorRate", "search"), at=T0 + timedelta(seconds=10)), "b2")
    eng.process(alerts(("HighRequestErrorRate", "shop"), at=T0 + timedelta(seconds=20)), "b3")
    eng.tick(T0 + timedelta(minutes=10))  # settled: what joined within list_seconds is listed
    groups = partition(events)
    assert len(groups) == 2 and sorted(len(g) for g in groups) == [1, 2]


def test_a_symptom_that_began_well_before_a_pinned_down_failure_is_not_its_effect():
    eng, events, _ = engine(topology=SHOP)
    eng.process(alerts(("KubePodCrashLooping", "payments")), "b1")
    early = am_alert("HighRequestErrorRate", "gateway", T0 - timedelta(minutes=5))
    eng.process(parse("alertmanager", am_body(early), T0 + timedelta(seconds=30)), "b2")
    assert len(partition(events)) == 2


FRONT = """
services:
  front: {depends_on: [checkout, ads]}
  checkout: {depends_on: [payments]}
  payments: {}
  ads: {}
"""


def test_regrouping_moves_a_symptom_to_the_incident_of_the_service_that_fails_by_itself():
    eng, events, _ = engine(topology=FRONT)
    eng.process(alerts(("KubePodNotReady", "payments")), "b1")
    eng.process(alerts(("NoRequestsReceived", "ads"), at=T0 + timedelta(seconds=60)), "b2")
    assert len(partition(events)) == 1  # payments failing could starve ads (through their common caller)
    eng.process(alerts(("KubePodCrashLooping", "ads"), at=T0 + timedelta(seconds=120)), "b3")
    by_service = {frozenset(v.service for v in s.alerts.values()): s for s in events.states.values()}
    assert set(by_service) == {frozenset({"payments"}), frozenset({"ads"})}
    ads = by_service[frozenset({"ads"})]
    assert ads.distinct_alerts == 2 and ads.alert_deliveries == 1
    assert any(v.reason["rule"] == "regrouped" for v in ads.alerts.values())
    payments = by_service[frozenset({"payments"})]
    assert [i["type"] for i in events.read_items(payments.incident_id)][-1] == "alerts.detached"
    assert payments.services == ["payments"] and payments.alert_deliveries == 1



def test_an_incident_whose_naming_alert_moved_away_is_renamed_after_one_it_holds():
    eng, events, _ = engine(topology=FRONT)
    eng.process(alerts(("NoRequestsReceived", "ads")), "b1")  # the symptom opens it and names it
    eng.process(alerts(("KubePodNotReady", "payments"), at=T0 + timedelta(seconds=60)), "b2")
    (state,) = events.states.values()
    assert state.title == "NoRequestsReceived on ads"
    eng.process(alerts(("KubePodCrashLooping", "ads"), at=T0 + timedelta(seconds=120)), "b3")
    by_service = {frozenset(v.service for v in s.alerts.values()): s for s in events.states.values()}
    assert set(by_service) == {frozenset({"payments"}), frozenset({"ads"})}
    payments = by_service[frozenset({"payments"})]
    assert payments.title == "KubePodNotReady on payments"  # not the ads symptom it no longer holds
    assert fold(payments.incident_id, events.read(payments.incident_id)).title == payments.title


# --- dedup, status changes, flapping -------------------------------------------------------------
def test_dedup_counts_repeats_without_new_alerts():
    eng, events, _ = engine({"count_flush_seconds": 0})  # counts written with every batch
    for i in range(3):
        eng.process(alerts(("HighRequestErrorRate", "api"), at=T0 + timedelta(seconds=10 * i)), f"b{i}")
    (state,) = events.states.values()
    assert state.distinct_alerts == 1 and state.alert_deliveries == 3


def test_the_same_alert_twice_in_one_batch_is_one_alert_delivered_twice():
    eng, events, _ = engine({"count_flush_seconds": 0})
    body = am_body(am_alert("HighRequestErrorRate", "api", T0), am_alert("HighRequestErrorRate", "api", T0))
    eng.process(parse("alertmanager", body, T0), "b1")
    (state,) = events.states.values()
    assert state.distinct_alerts == 1 and state.alert_deliveries == 2
    (scope,) = eng.store.scopes
    assert eng.store.scope(scope).incidents[0].distinct == 1


def test_repeats_rewrite_the_alert_index_only_when_due_a_refresh():
    eng, _, _ = engine()
    (a,) = alerts(("HighRequestErrorRate", "api"))
    eng.process([a], "b1")
    stored = eng.store.alerts[("alertmanager", a.key)]
    body = am_body(am_alert("HighRequestErrorRate", "api", T0))  # still firing: the same startsAt
    eng.process(parse("alertmanager", body, T0 + timedelta(minutes=30)), "b2")
    assert eng.store.alerts[("alertmanager", a.key)] == stored  # a repeat: no write
    eng.process(parse("alertmanager", body, T0 + timedelta(minutes=70)), "b3")
    record = eng.store.record("alertmanager", a.key)
    assert record.last_received_at == T0 + timedelta(minutes=70)


def test_repeats_alone_are_counted_lazily_but_exactly_before_diagnosis():
    eng, events, wf = engine()  # count_flush_seconds 300
    for i in range(5):
        eng.process(alerts(("HighRequestErrorRate", "api"), at=T0 + timedelta(seconds=10 * i)), f"b{i}")
    (state,) = events.states.values()
    assert state.alert_deliveries == 1 and len(events.read_items(state.incident_id)) == 2  # opened + first alert
    eng.tick(T0 + timedelta(minutes=10))
    (state,) = events.states.values()
    assert list(wf.started) == [state.incident_id] and state.alert_deliveries == 5


def test_resolved_and_acknowledged_update_the_alert():
    eng, events, _ = engine()
    eng.process(alerts(("HighRequestErrorRate", "api")), "b1")
    eng.process(alerts(am_alert("HighRequestErrorRate", "api", T0, status="resolved")), "b2")
    (state,) = events.states.values()
    (view,) = state.alerts.values()
    assert view.status == "resolved"
    pd = {"routing_key": "r" * 32, "event_action": "trigger", "dedup_key": "disk-1",
          "payload": {"summary": "disk full on db", "source": "db", "severity": "critical"}}
    eng.process(parse("pagerduty", pd, T0), "b3")
    eng.process(parse("pagerduty", {**pd, "event_action": "acknowledge"}, T0 + timedelta(seconds=5)), "b4")
    states = {k for s in events.states.values() for k in s.alerts}
    assert "disk-1" in states
    view = next(s.alerts["disk-1"] for s in events.states.values() if "disk-1" in s.alerts)
    assert view.status == "acknowledged"


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


def test_a_flapping_alert_that_fires_again_after_a_quiet_window_opens_a_new_incident():
    eng, events, _ = engine({"flap_window_seconds": 300, "window_seconds": 300})
    for i in range(4):
        status = "firing" if i % 2 == 0 else "resolved"
        at = T0 + timedelta(seconds=30 * i)
        eng.process(parse("alertmanager", am_body(am_alert("DiskFull", "db", at, status=status)), at), f"b{i}")
    eng.tick(T0 + timedelta(hours=1))  # diagnosed, then forgotten once its window passed
    later = T0 + timedelta(hours=2)
    eng.process(parse("alertmanager", am_body(am_alert("DiskFull", "db", later)), later), "b-late")
    assert len(events.states) == 2


def test_a_still_firing_alert_resent_later_is_a_repeat_but_a_new_occurrence_is_a_new_incident():
    eng, events, _ = engine({"window_seconds": 300})
    first = am_alert("DiskFull", "db", T0)
    eng.process(parse("alertmanager", am_body(first), T0), "b1")
    eng.tick(T0 + timedelta(hours=1))
    resent = T0 + timedelta(hours=4)  # Alertmanager's repeat_interval: same alert, same startsAt
    eng.process(parse("alertmanager", am_body(first), resent), "b2")
    (state,) = events.states.values()
    assert state.alert_deliveries == 2
    again = T0 + timedelta(hours=6)
    eng.process(parse("alertmanager", am_body(am_alert("DiskFull", "db", again)), again), "b3")
    assert len(events.states) == 2


def test_repeats_after_diagnosis_are_written_by_a_tick_once_the_storm_stops():
    eng, events, wf = engine({"settle_quiet_seconds": 0, "settle_max_seconds": 0})
    body = am_body(am_alert("HighRequestErrorRate", "api", T0))
    eng.process(parse("alertmanager", body, T0), "b0")
    assert len(wf.started) == 1  # diagnosed at once
    for i in range(1, 4):
        eng.process(parse("alertmanager", body, T0 + timedelta(seconds=5 * i)), f"b{i}")
    (state,) = events.states.values()
    assert state.alert_deliveries == 1  # three repeats counted, not yet written
    assert eng.tick(T0 + timedelta(minutes=5)) == []
    (state,) = events.states.values()
    assert state.alert_deliveries == 4 and eng.store.pending == {}


def test_alerts_joining_after_diagnosis_are_listed_with_the_next_count_write_not_one_append_each():
    eng, events, wf = engine({"settle_quiet_seconds": 0, "settle_max_seconds": 0})
    eng.process(alerts(("HighRequestErrorRate", "api")), "b0")
    (iid,) = wf.started  # diagnosed at once
    version = events.get_head(iid).version
    for i in range(1, 6):  # five new alerts on the same service, one a batch, within 300 s
        at = T0 + timedelta(seconds=20 * i)
        eng.process(alerts((f"Late{i}", "api"), at=at), f"b{i}")
    assert events.get_head(iid).version == version and len(events.get_state(iid).alerts) == 1  # no append yet
    assert eng.store.record("alertmanager", alerts(("Late1", "api"))[0].key).incident_id == iid  # placed
    assert eng.tick(T0 + timedelta(seconds=301)) == []
    state = events.get_state(iid)
    assert events.get_head(iid).version == version + 1  # one append lists all five
    assert sorted(v.name for v in state.alerts.values()) == ["HighRequestErrorRate", "Late1", "Late2", "Late3",
                                                             "Late4", "Late5"]
    assert state.alert_deliveries == 6 and all(v.status == "firing" for v in state.alerts.values())
    assert not any(i.deferred for scope in eng.store.scopes for i in eng.store.scope(scope).incidents)


def test_before_diagnosis_joining_alerts_are_listed_every_list_seconds_and_all_at_diagnosis():
    eng, events, wf = engine()  # list_seconds 30, settle 90 s quiet / 300 s at most
    eng.process(alerts(("HighRequestErrorRate", "api")), "b0")
    (iid,) = events.states
    opened = events.get_head(iid).version  # opened at once, with its first alert
    assert len(events.get_state(iid).alerts) == 1
    for i in range(1, 6):  # a new alert every 5 s: batched, not one append each
        eng.process(alerts((f"Join{i}", "api"), at=T0 + timedelta(seconds=5 * i)), f"b{i}")
    assert events.get_head(iid).version == opened
    eng.process(alerts(("Join6", "api"), at=T0 + timedelta(seconds=30)), "b6")  # 30 s after the last write
    assert events.get_head(iid).version == opened + 1 and len(events.get_state(iid).alerts) == 7  # all six, one append
    eng.process(alerts(("Join7", "api"), at=T0 + timedelta(seconds=35)), "b7")
    assert len(events.get_state(iid).alerts) == 7 and not wf.started
    eng.tick(T0 + timedelta(seconds=35 + 91))  # quiet: diagnosis lists what waits before it starts
    assert wf.started and len(events.get_state(iid).alerts) == 8 and events.get_state(iid).alert_deliveries == 8


def test_an_alert_waiting_to_be_listed_is_listed_before_its_status_change():
    eng, events, wf = engine({"settle_quiet_seconds": 0, "settle_max_seconds": 0})
    eng.process(alerts(("HighRequestErrorRate", "api")), "b0")
    (iid,) = wf.started
    eng.process(alerts(("LateAlert", "api"), at=T0 + timedelta(seconds=10)), "b1")
    assert "LateAlert" not in {v.name for v in events.get_state(iid).alerts.values()}
    resolved = am_alert("LateAlert", "api", T0 + timedelta(seconds=20), status="resolved")
    eng.process(parse("alertmanager", am_body(resolved), T0 + timedelta(seconds=20)), "b2")
    state = events.get_state(iid)
    late = next(v for v in state.alerts.values() if v.name == "LateAlert")
    assert late.status == "resolved" and state.alert_deliveries == 3
    types = [e.type.value for e in events.read(iid)][-2:]
    assert types == ["alerts.attached", "alerts.updated"]


# --- thresholds ---------------------------------------------------------------------------------
def test_severity_floor_and_resolved_first_are_noise():
    eng, events, _ = engine()
    r = eng.process(alerts(am_alert("Watchdog", "web", T0, severity="info"), am_alert("X", "api", T0, status="resolved")),
                    "b1")
    assert r.noise == 2 and events.states == {}


def test_an_alert_below_the_floor_is_kept_with_an_incident_that_explains_it():
    eng, events, _ = engine()
    eng.process(alerts(am_alert("CPUThrottlingHigh", "db", T0, severity="info")), "b1")
    assert events.states == {}
    eng.process(alerts(("DBConnectionsExhausted", "db"), at=T0 + timedelta(seconds=30)), "b2")
    (state,) = events.states.values()
    assert {v.name: v.reason["rule"] for v in state.alerts.values()} == {"CPUThrottlingHigh": "held",
                                                                        "DBConnectionsExhausted": "anchor"}


def test_open_only_after_n_alerts():
    eng, events, _ = engine({"open_min_alerts": 3})
    eng.process(alerts(("HighRequestErrorRate", "api"), ("DBDown", "db")), "b1")
    assert events.states == {}
    eng.process(alerts(("HighRequestLatency", "web"), at=T0 + timedelta(seconds=20)), "b2")
    (state,) = events.states.values()
    assert state.distinct_alerts == 3 and state.alert_deliveries == 3
    # detected when the third alert arrived, not when the first did: time to detect counts the wait
    assert state.first_alert_at == T0 and state.opened_at == T0 + timedelta(seconds=20)


def test_open_after_m_seconds_only_while_still_firing():
    eng, events, wf = engine({"open_min_alerts": 5, "open_min_seconds": 120, "settle_quiet_seconds": 0})
    eng.process(alerts(("HighRequestErrorRate", "api")), "b1")
    eng.process(alerts(("LedgerDown", "ledger")), "b2")
    eng.process(alerts(am_alert("LedgerDown", "ledger", T0, status="resolved")), "b3")  # a blip
    assert eng.tick(T0 + timedelta(seconds=60)) == [] and events.states == {}
    eng.tick(T0 + timedelta(seconds=121))
    (state,) = events.states.values()
    assert [v.service for v in state.alerts.values()] == ["api"]
    assert state.opened_at == T0 + timedelta(seconds=121)  # opened by the tick that found it had lasted
    eng.tick(T0 + timedelta(seconds=400))
    assert list(wf.started) == [state.incident_id]


def test_workflow_starts_once_when_the_incident_settles():
    eng, events, wf = engine()
    eng.process(alerts(("HighRequestErrorRate", "api")), "b1")
    assert wf.started == {}
    assert eng.tick(T0 + timedelta(seconds=30)) == []
    (incident_id,) = events.states
    assert eng.tick(T0 + timedelta(seconds=600)) == [incident_id]
    assert eng.tick(T0 + timedelta(seconds=900)) == [] and list(wf.started) == [incident_id]


# --- storms -------------------------------------------------------------------------------------
def test_a_storm_keeps_exact_counts_and_a_bounded_sample():
    eng, events, wf = engine({"max_alerts_recorded": 20, "max_alerts_sampled": 5})
    for b in range(10):
        batch = [am_alert("HighRequestErrorRate", "api", T0, extra={"pod": f"api-{b}-{i}"}) for i in range(30)]
        if b == 9:
            batch.append(am_alert("DBDown", "db", T0))
        eng.process(parse("alertmanager", am_body(*batch), T0 + timedelta(seconds=b)), f"b{b}")
        eng.process(parse("alertmanager", am_body(*batch), T0 + timedelta(seconds=b)), f"r{b}")  # every alert twice
    eng.tick(T0 + timedelta(hours=1))
    assert len(wf.started) == 1
    (state,) = events.states.values()
    assert state.distinct_alerts == 301 and state.alert_deliveries == 602
    assert len(state.alerts) == 21 and "db" in state.services  # the new service is sampled past the cap


def test_past_the_open_incident_cap_the_oldest_is_diagnosed_not_dropped():
    eng, events, wf = engine({"max_open_incidents": 1, "settle_quiet_seconds": 600, "settle_max_seconds": 600},
                             topology=SHOP)
    eng.process(alerts(("KubePodCrashLooping", "search")), "b1")
    eng.process(alerts(("KubePodCrashLooping", "reports"), at=T0 + timedelta(seconds=10)), "b2")
    assert len(events.states) == 2 and len(wf.started) == 1


# --- the Kinesis edge ---------------------------------------------------------------------------
def test_replaying_the_same_kinesis_batch_changes_nothing():
    eng, events, wf = engine({"settle_quiet_seconds": 0, "settle_max_seconds": 0})
    event = kinesis_event([parse("alertmanager", am_body(am_alert("HighRequestErrorRate", "api", T0),
                                                         am_alert("DBDown", "db", T0)), T0)])
    handle_batch(event, eng)
    before = {i: len(events.read_items(i)) for i in events.states}
    response, result = handle_batch(event, eng)
    assert response == {"batchItemFailures": []} and result.redelivered == 2 and result.attached == 0
    assert {i: len(events.read_items(i)) for i in events.states} == before
    assert len(wf.started) == 1


def test_real_kinesis_sequence_numbers_past_64_bits_are_recorded_and_redeliveries_skipped():
    eng, events, _ = engine()
    seq = 49590338271490256608559692538361571095921575989136588898  # the length Kinesis gives
    event = kinesis_event([alerts(("HighRequestErrorRate", "api"), ("DBDown", "db"))], start_seq=seq)
    assert handle_batch(event, eng)[0] == {"batchItemFailures": []}
    response, result = handle_batch(event, eng)
    assert response == {"batchItemFailures": []} and result.redelivered == 2
    (state,) = events.states.values()
    assert state.alert_deliveries == 2
    record = next(iter(eng.store.alerts.values()))
    assert AlertRecord.from_json(record).origin[1] > seq


def test_concurrent_batches_of_one_shard_finishing_out_of_order_are_both_applied_once():
    """With a parallelization factor, a shard's later records (another partition key) may finish
    first; the earlier ones must still be applied, and each exactly once."""
    eng, events, _ = engine()
    topo = Topology.parse_yaml(TOPOLOGY)
    first = kinesis_event([alerts(("HighRequestErrorRate", "api"))], topo=topo, start_seq=100)
    ledger = parse("alertmanager", am_body(am_alert("LedgerDown", "ledger", T0, cluster="other")), T0)
    later = kinesis_event([ledger], topo=topo, start_seq=200)
    handle_batch(later, eng)
    handle_batch(first, eng)
    handle_batch(first, eng)
    handle_batch(later, eng)
    assert sorted(s.distinct_alerts for s in events.states.values()) == [1, 1]
    assert sorted(s.alert_deliveries for s in events.states.values()) == [1, 1]


def test_poison_record_is_a_batch_item_failure_and_the_rest_is_processed():
    eng, events, _ = engine()
    good = kinesis_event([alerts(("HighRequestErrorRate", "api"))], start_seq=1)["Records"][0]
    poison = {"kinesis": {"sequenceNumber": "1", "data": base64.b64encode(b"not json").decode()}, "eventID": "shardId-0:1"}
    wrong = {"kinesis": {"sequenceNumber": "3", "data": base64.b64encode(b'{"hello": 1}').decode()}, "eventID": "shardId-0:3"}
    bad_alert = {"kinesis": {"sequenceNumber": "4", "data": base64.b64encode(json.dumps(
        {"kind": "alerts", "alerts": [{"source": "alertmanager", "key": "k", "status": "exploded"}]}).encode()).decode()},
        "eventID": "shardId-0:4"}
    response, result = handle_batch({"Records": [poison, good, wrong, bad_alert]}, eng)
    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}, {"itemIdentifier": "4"}]}
    assert result.alerts_in == 1 and len(events.states) == 1 and len(result.poison) == 3
    assert "alert.status" in result.poison[2]


def test_cloudwatch_alarm_put_on_the_stream_by_eventbridge_is_decoded():
    from tests.conftest import load_event

    eng, events, _ = engine()
    alarm = load_event("cloudwatch_alarm_eventbridge.json")
    record = {"kinesis": {"sequenceNumber": "7", "partitionKey": "x", "data": base64.b64encode(
        json.dumps(alarm).encode()).decode(), "approximateArrivalTimestamp": T0.timestamp()}, "eventID": "shardId-0:7"}
    response, result = handle_batch({"Records": [record]}, eng)
    assert response == {"batchItemFailures": []} and result.attached == 1
    (state,) = events.states.values()
    assert list(state.alerts) == [alarm["resources"][0]]


@pytest.mark.parametrize("doc", [
    {"kind": "alerts", "alerts": "nope"},
    {"kind": "alerts", "alerts": [{"source": "x", "key": "", "status": "firing", "received_at": "2026-01-01T00:00:00Z"}]},
    {"kind": "alerts", "alerts": [{"source": "x", "key": "k", "status": "firing", "received_at": "yesterday"}]},
])
def test_malformed_alert_documents_are_poison_naming_the_field(doc):
    eng, _, _ = engine()
    record = {"kinesis": {"sequenceNumber": "9", "data": base64.b64encode(json.dumps(doc).encode()).decode()},
              "eventID": "shardId-0:9"}
    response, result = handle_batch({"Records": [record]}, eng)
    assert response == {"batchItemFailures": [{"itemIdentifier": "9"}]}
    assert "alert" in result.poison[0]
