"""Cross-region logic on two in-memory regions standing in for global-table replicas: read failover,
corruption detection by comparing chains, repair from the copy that verifies, recorded as an event.
(The same logic runs against two moto regions in tests/integration/test_event_store_regions.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from incident_commander.models.events import EventType, IncidentOpened, MonitoringStarted, NewEvent
from incident_commander.store.failover import FailoverEventStore
from incident_commander.store.hashing import event_hash
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import StoreUnavailable
from incident_commander.store.replicas import check, repair

AT = datetime(2026, 1, 1, tzinfo=UTC)
HOME, REPLICA = "us-east-1", "us-west-2"


def replicate(src: InMemoryEventStore, dst: InMemoryEventStore) -> None:
    """What global-table replication does (it cannot run here): copy every item and projection."""
    for iid, by_seq in src.items.items():
        dst.items[iid] = {k: dict(v) for k, v in by_seq.items()}
    dst.states = {k: v.model_copy() for k, v in src.states.items()}


@pytest.fixture()
def regions():
    home, replica = InMemoryEventStore(HOME), InMemoryEventStore(REPLICA)
    evs = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "test", "open")]
    evs += [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=f"n{i}"), AT, "test") for i in range(4)]
    home.append("i1", 0, evs)
    replicate(home, replica)
    return home, replica, {HOME: home, REPLICA: replica}


def status(report) -> dict[str, str]:
    return {r.region: r.status for r in report.regions}


def test_identical_copies_are_ok_and_a_lagging_replica_is_behind(regions):
    home, replica, stores = regions
    assert check("i1", stores, HOME)[0].ok
    home.append("i1", 5, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="new"), AT, "t")])
    report, _ = check("i1", stores, HOME)
    assert report.ok and status(report) == {HOME: "ok", REPLICA: "behind"}
    assert repair("i1", stores, HOME).repairs == []  # replication will catch up; nothing to repair


@pytest.mark.parametrize("damage, seq", [
    (lambda items: items[3].update(actor="mallory"), 3),   # modified
    (lambda items: items.pop(2), 2),                        # deleted
    (lambda items: items.__setitem__(4, {**items[5], "seq": 4}), 4),  # reordered / overwritten
])
def test_a_damaged_replica_is_detected_and_repaired_from_the_home_region(regions, damage, seq):
    home, replica, stores = regions
    damage(replica.items["i1"])
    report, _ = check("i1", stores, HOME)
    assert not report.ok and status(report) == {HOME: "ok", REPLICA: "damaged"}
    assert report.regions[1].first_bad_seq == seq and report.reference_region == HOME
    after = repair("i1", stores, HOME)
    assert after.repairs[0]["region"] == REPLICA and after.repairs[0]["source_region"] == HOME
    assert seq in after.repairs[0]["seqs"]
    # the replica now holds the home region's events; the repair is the home region's newest event,
    # which replication has yet to carry over, so the replica is one behind
    assert status(after) == {HOME: "ok", REPLICA: "behind"} and after.ok
    repaired = home.read("i1")[-1]
    assert repaired.type == EventType.EVENT_REPAIRED and repaired.data["problem"]
    assert home.get_state("i1").repairs == 1
    replicate(home, replica)
    assert status(check("i1", stores, HOME)[0]) == {HOME: "ok", REPLICA: "ok"}


def test_a_damaged_home_region_is_repaired_from_the_replica_whose_chain_verifies(regions):
    home, replica, stores = regions
    home.items["i1"][2]["data"] = '{"reason":"rewritten"}'
    report, _ = check("i1", stores, HOME)
    assert status(report) == {HOME: "damaged", REPLICA: "ok"} and report.reference_region == REPLICA
    after = repair("i1", stores, HOME)
    assert after.repairs[0]["region"] == HOME and after.repairs[0]["seqs"] == [2]
    assert home.read_items("i1")[1]["data"] == replica.read_items("i1")[1]["data"]
    assert after.ok and status(after) == {HOME: "ok", REPLICA: "behind"}


def test_events_a_replica_holds_but_the_home_region_never_wrote_are_removed(regions):
    home, replica, stores = regions
    last = replica.items["i1"][5]
    forged = dict(last, seq=6, prev_hash=last["hash"], actor="mallory")
    forged["hash"] = event_hash(forged)
    replica.items["i1"][6] = forged
    replica.states["i1"] = replica.states["i1"].model_copy(update={"version": 6, "last_hash": forged["hash"]})
    report, _ = check("i1", stores, HOME)
    assert status(report)[REPLICA] == "damaged" and report.regions[1].first_bad_seq == 6
    after = repair("i1", stores, HOME)
    assert after.repairs[0]["removed"] == [6] and after.repairs[0]["projection_restored"]
    assert len(replica.read_items("i1")) == 5 and replica.get_state("i1").version == 5


def test_two_copies_that_verify_but_disagree_are_diverged_and_left_alone(regions):
    home, replica, stores = regions
    replica.items["i1"].pop(5)
    replica.states["i1"] = replica.states["i1"].model_copy(update={"version": 4, "last_hash": replica.items["i1"][4]["hash"]})
    replica.append("i1", 4, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="fork"), AT, "t")])
    report = repair("i1", stores, HOME)
    assert status(report)[REPLICA] == "diverged" and not report.ok and report.repairs == []


def test_reads_fail_over_when_the_home_region_errors_and_writes_do_not(regions):
    home, replica, _ = regions
    store = FailoverEventStore(home, [replica])
    assert store.get_state("i1").version == 5 and store.last_read_region == HOME
    home.down = True
    assert store.get_state("i1").version == 5 and store.last_read_region == REPLICA
    assert len(store.read_items("i1")) == 5 and store.list_states().items[0].incident_id == "i1"
    with pytest.raises(StoreUnavailable, match=HOME):
        store.append("i1", 5, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="x"), AT, "t")])
    replica.down = True
    with pytest.raises(StoreUnavailable, match="every region failed"):
        store.get_state("i1")


def test_a_failing_home_region_is_not_called_while_its_circuit_is_open_and_is_probed_after(regions):
    from incident_commander.resilience.breaker import BreakerConfig, CircuitBreaker
    from incident_commander.resilience.store import InMemoryStateStore

    home, replica, _ = regions
    now = [1000.0]
    circuit = CircuitBreaker("dynamodb:home", InMemoryStateStore(), BreakerConfig(failure_threshold=2, open_seconds=30),
                             clock=lambda: now[0])
    store = FailoverEventStore(home, [replica], circuit)
    calls = []
    real = home.get_head
    home.get_head = lambda i: calls.append(i) or real(i)
    home.down = True
    for _ in range(5):
        assert store.get_head("i1").version == 5 and store.last_read_region == REPLICA
    assert len(calls) == 2  # two failures opened the circuit: the next three reads went to the replica only
    home.down = False
    now[0] += 31  # cool-down over: a probe goes home, succeeds, and reads stay home
    assert store.get_head("i1").version == 5 and store.last_read_region == HOME
    assert store.get_head("i1").version == 5 and store.last_read_region == HOME and len(calls) == 4


def test_nothing_is_repaired_while_the_home_region_is_down(regions):
    home, replica, stores = regions
    third = InMemoryEventStore("eu-west-1")
    replicate(home, third)
    third.items["i1"][1]["actor"] = "mallory"
    home.down = True
    report = repair("i1", {**stores, "eu-west-1": third}, HOME)
    assert status(report) == {HOME: "unavailable", REPLICA: "ok", "eu-west-1": "damaged"}
    assert report.repairs == [] and "unavailable" in report.note
    assert third.read_items("i1")[0]["actor"] == "mallory"


def test_a_projection_changed_by_hand_is_named_and_rebuilt_from_the_events(regions):
    from incident_commander.store.archive import read_verified

    home, replica, stores = regions
    replica.states["i1"] = replica.states["i1"].model_copy(update={"title": "nothing to see"})
    _, result = read_verified(replica, "i1", replica.get_state("i1"))
    assert not result.ok and result.first_bad_seq is None and "(title differ)" in result.problem
    report, _ = check("i1", stores, HOME)
    assert status(report) == {HOME: "ok", REPLICA: "damaged"}
    after = repair("i1", stores, HOME)
    assert after.repairs[0]["projection_restored"] and after.repairs[0]["seqs"] == []
    assert replica.get_state("i1").title == "t"


def test_archived_incidents_compare_their_archived_events_from_the_archive(regions):
    from datetime import timedelta

    from incident_commander.models.events import Reopened, Resolved
    from incident_commander.store.archive import InMemoryArchive
    from incident_commander.store.retention import archive_closed

    home, replica, stores = regions
    archive = InMemoryArchive()
    home.append("i1", 5, [NewEvent.of(EventType.RESOLVED, Resolved(by="a"), AT, "h")])
    archive_closed(home, archive, AT + timedelta(days=100), older_than=timedelta(days=90))
    home.append("i1", 7, [NewEvent.of(EventType.REOPENED, Reopened(by="b", reason="r"), AT, "h")])
    replicate(home, replica)
    home.run_ttl(int((AT + timedelta(days=100)).timestamp()))  # the home region's sweeper ran, the replica's not yet
    assert [i["seq"] for i in home.read_items("i1")] == [7, 8]
    report, _ = check("i1", stores, HOME, archive)
    assert report.ok and status(report) == {HOME: "ok", REPLICA: "ok"}
    replica.items["i1"][8]["actor"] = "mallory"
    after = repair("i1", stores, HOME, archive=archive)
    assert after.repairs[0]["seqs"] == [8] and after.ok  # archived events are never written back
    assert 1 not in home.items["i1"]
