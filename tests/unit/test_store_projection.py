"""The stored projection stays small however many alerts an incident lists: the alert views are
folded from the events on read, and only their summary is stored (what every append rewrites)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.models.events import (
    AlertChange,
    AlertRef,
    AlertsAttached,
    AlertsDetached,
    AlertsUpdated,
    EventType,
    GroupingReason,
    IncidentOpened,
    NewEvent,
    Resolved,
)
from incident_commander.models.incident import IncidentState, fold
from incident_commander.store.archive import InMemoryArchive, read_verified
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import from_item
from incident_commander.store.retention import archive_closed

AT = datetime(2026, 1, 1, tzinfo=UTC)


def ref(i: int, service: str = "api", starts: int = 0) -> AlertRef:
    return AlertRef(key=f"k{i:04d}", source="alertmanager", name="HighErrorRate", service=service, status="firing",
                    severity="high", starts_at=AT - timedelta(seconds=starts), received_at=AT + timedelta(seconds=i),
                    title="error rate above 5% " * 10,
                    reason=GroupingReason(rule="same_service", score=0.9, detail="joined: same service " * 5))


def opened() -> NewEvent:
    return NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "agent:detection", "open")


def attach(refs: list[AlertRef], key: str, deliveries: int = 0) -> NewEvent:
    return NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=refs, deliveries=deliveries), AT,
                       "agent:detection", key)


class CountingStore(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.event_reads = 0

    def read_items(self, incident_id):
        self.event_reads += 1
        return super().read_items(incident_id)


@pytest.fixture()
def store() -> CountingStore:
    s = CountingStore()
    s.append("i1", 0, [opened()])
    return s


def test_the_stored_projection_does_not_grow_with_the_alerts_and_reads_show_every_alert(store):
    sizes = []
    for batch in range(6):
        head = store.get_head("i1")
        store.append("i1", head.version, [attach([ref(batch * 100 + i) for i in range(100)], f"b{batch}",
                                                 deliveries=100)], state=head)
        sizes.append(len(store.get_head("i1").stored_json()))
    assert max(sizes) < 1500 and max(sizes) - min(sizes) < 20  # the same few hundred bytes at 100 and 600 alerts
    state = store.get_state("i1")
    assert len(state.alerts) == state.alerts_listed == state.distinct_alerts == 600
    assert state.alerts == fold("i1", store.read("i1")).alerts  # exactly the fold of the events
    assert state.alerts["k0599"].reason["rule"] == "same_service"  # and why each was grouped


def test_a_projection_read_without_its_alerts_refuses_to_pretend_it_has_none(store):
    store.append("i1", 1, [attach([ref(1)], "b1")])
    head = store.get_head("i1")
    assert not head.alerts_read and head.distinct_alerts == 1
    for use in (lambda: list(head.alerts), lambda: len(head.alerts), lambda: head.alerts.get("k0001"),
                lambda: "k0001" in head.alerts, lambda: head.model_dump_json()):
        with pytest.raises(Exception, match="alert views were not read"):
            use()


def other_container(store: CountingStore) -> CountingStore:
    """Another process on the same tables: it knows nothing this one folded."""
    other = CountingStore()
    other.items, other.states, other.markers = store.items, store.states, store.markers
    return other


def test_appends_read_the_events_only_when_they_need_alert_views_this_process_does_not_know(store):
    store.append("i1", 1, [attach([ref(1)], "b1")])
    cold = other_container(store)
    cold.append("i1", 2, [attach([], "counts", deliveries=500)], state=cold.get_head("i1"))  # repeats: a count
    assert cold.event_reads == 0
    cold.append("i1", 3, [attach([ref(2)], "b2")], state=cold.get_head("i1"))  # a new alert: is it new?
    assert cold.event_reads == 1
    cold.append("i1", 4, [attach([ref(3)], "b3")], state=cold.get_head("i1"))  # it knows version 4's views
    assert cold.event_reads == 1
    store.append("i1", 5, [attach([ref(4)], "b4")], state=store.get_head("i1"))  # the first one fell behind
    assert store.event_reads == 1
    for s in (store, cold, other_container(store)):
        state = s.get_state("i1")
        assert state.alert_deliveries == 500 and set(state.alerts) == {"k0001", "k0002", "k0003", "k0004"}
        assert state.alerts == fold("i1", store.read("i1")).alerts


def test_updates_and_detaches_keep_the_stored_summary_equal_to_the_fold(store):
    store.append("i1", 1, [attach([ref(1, "api", starts=30), ref(2, "db", starts=90), ref(3, "db")], "b1")])
    store.append("i1", 2, [NewEvent.of(EventType.ALERTS_UPDATED, AlertsUpdated(changes=[AlertChange(
        key="k0003", status="resolved", at=AT)]), AT, "agent:detection", "u1")], state=store.get_head("i1"))
    head = store.get_head("i1")
    assert head.alerts_started_at == AT - timedelta(seconds=90) and head.services == ["api", "db"]
    store.append("i1", 3, [NewEvent.of(EventType.ALERTS_DETACHED, AlertsDetached(keys=["k0002", "k0003"],
                                                                                  to_incident="i2", reason="moved"),
                                       AT, "agent:detection", "d1")], state=head)
    head = store.get_head("i1")
    assert (head.alerts_listed, head.services, head.alerts_started_at) == (1, ["api"], AT - timedelta(seconds=30))
    items = store.read_items("i1")
    assert read_verified(store, "i1", head)[1].ok
    folded = fold("i1", [from_item(i) for i in items])
    assert folded.model_dump(exclude={"alerts"}) == store.get_state("i1").model_dump(exclude={"alerts"})


def test_a_stored_summary_changed_by_hand_is_named_by_verification(store):
    store.append("i1", 1, [attach([ref(1), ref(2)], "b1")])
    store.states["i1"] = store.states["i1"].model_copy(update={"alerts_listed": 1})
    result = read_verified(store, "i1", store.get_head("i1"))[1]
    assert not result.ok and "alerts_listed" in result.problem


def test_an_archived_incident_keeps_its_alert_views_once_its_events_are_gone(store):
    store.append("i1", 1, [attach([ref(i) for i in range(3)], "b1")])
    store.append("i1", 2, [NewEvent.of(EventType.RESOLVED, Resolved(by="ann"), AT, "human:ann", "r")])
    archive = InMemoryArchive()
    (outcome,) = archive_closed(store, archive, AT + timedelta(days=100), timedelta(days=90))
    assert outcome.result == "archived"
    store.run_ttl(int((AT + timedelta(days=101)).timestamp()))
    assert [int(i["seq"]) for i in store.read_items("i1")] == [4]  # events 1..3 left the table
    head = store.get_head("i1")
    assert head.alerts_read and set(head.alerts) == {"k0000", "k0001", "k0002"}  # stored with the projection
    assert IncidentState.from_stored(head.stored_json()).alerts == head.alerts
    assert read_verified(store, "i1", head, archive)[1].ok


def diagnose(store: InMemoryEventStore, iid: str) -> None:
    """Three agents' ranked hypotheses with evidence, and the decision with its ranking and votes."""
    from incident_commander.models.diagnosis import (
        Category,
        Decision,
        DecisionKind,
        Evidence,
        Hypothesis,
        WeightedVote,
    )
    from incident_commander.models.events import ConsensusReached, DiagnosisStarted, HypothesesProposed

    def hyp(rank: int, agent: str) -> Hypothesis:
        return Hypothesis(category=list(Category)[rank], service=f"svc-{rank}", confidence=0.9 - rank / 10,
                          summary=f"{agent} thinks svc-{rank} " * 5, causal_path=[f"svc-{rank}", "api"],
                          evidence=[Evidence(kind="alert", ref=f"k{i:04d}", detail=f"{agent} evidence {i} " * 8)
                                    for i in range(8)])

    events = [NewEvent.of(EventType.DIAGNOSIS_STARTED, DiagnosisStarted(execution="x"), AT, "agent:workflow", "d")]
    events += [NewEvent.of(EventType.HYPOTHESES_PROPOSED, HypothesesProposed(agent=a, hypotheses=[
        hyp(r, a) for r in range(5)]), AT, f"agent:{a}", f"h-{a}") for a in ("rules", "topology", "memory")]
    ranked = [hyp(r, "consensus") for r in range(5)]
    decision = Decision(kind=DecisionKind.ESCALATE, confidence=0.6, root_cause=ranked[0], ranked=ranked, margin=0.2,
                        agreement=0.66, reason="needs a human", votes=[
                            WeightedVote(agent=a, weight=1.0, category=Category.NETWORK, service="svc-0",
                                         confidence=0.9) for a in ("rules", "topology", "memory")])
    events.append(NewEvent.of(EventType.CONSENSUS_REACHED, ConsensusReached(decision=decision), AT, "agent:consensus",
                              "c"))
    head = store.get_state(iid)
    store.append(iid, head.version, events, state=head)


def test_a_diagnosed_projection_stores_the_outline_and_reads_give_the_whole_diagnosis(store):
    from incident_commander.api.views import summary
    from incident_commander.impact import Impact

    store.append("i1", 1, [attach([ref(1)], "b1")])
    before = len(store.get_head("i1").stored_json())
    diagnose(store, "i1")
    cold = other_container(store)  # a detection container that never folded the diagnosis
    for i in range(3):  # alerts keep arriving after the diagnosis: each append rewrites the projection
        cold.append("i1", cold.get_head("i1").version, [attach([ref(10 + i)], f"late{i}")], state=cold.get_head("i1"))
    head = cold.get_head("i1")
    assert head.outlined and len(head.stored_json()) < before + 1500  # the whole diagnosis is ~15 KB of JSON
    assert [len(hs) for hs in head.hypotheses.values()] == [1, 1, 1]
    assert not head.decision.ranked and not head.decision.votes and not head.decision.root_cause.evidence
    folded = fold("i1", store.read("i1"))
    for s in (store, cold, other_container(store)):
        whole = s.get_state("i1")
        assert not whole.outlined
        assert (whole.hypotheses, whole.decision, whole.alerts) == (folded.hypotheses, folded.decision, folded.alerts)
        assert read_verified(s, "i1", s.get_head("i1"))[1].ok
    impact = Impact(cost_per_minute=0, cost_so_far=0, users_affected=0)
    assert summary(head, impact, AT) == summary(store.get_state("i1"), impact, AT)  # what lists show


def test_a_changed_outline_is_named_by_verification_and_an_archived_incident_keeps_its_diagnosis(store):
    diagnose(store, "i1")
    head = store.get_head("i1")
    forged = head.decision.model_copy(update={"confidence": 0.99})
    store.states["i1"] = store.states["i1"].model_copy(update={"decision": forged, "outlined": True})
    result = read_verified(store, "i1", store.get_head("i1"))[1]
    assert not result.ok and "decision" in result.problem
    store.states["i1"] = fold("i1", store.read("i1"))
    store.append("i1", store.get_head("i1").version, [NewEvent.of(EventType.RESOLVED, Resolved(by="ann"), AT,
                                                                     "human:ann", "r")])
    archive = InMemoryArchive()
    (outcome,) = archive_closed(store, archive, AT + timedelta(days=100), timedelta(days=90))
    assert outcome.result == "archived"
    store.run_ttl(int((AT + timedelta(days=101)).timestamp()))
    head = store.get_head("i1")
    assert not head.outlined and len(head.decision.ranked) == 5 and len(head.hypotheses["memory"]) == 5
    assert read_verified(store, "i1", head, archive)[1].ok


def propose(agent: str) -> NewEvent:
    """An agent's ranked hypotheses with evidence, as its diagnosis step appends them."""
    from incident_commander.models.diagnosis import Category, Evidence, Hypothesis
    from incident_commander.models.events import HypothesesProposed

    late = [Hypothesis(category=Category.NETWORK, service="svc-9", confidence=0.5 - r / 10, summary="late",
                       evidence=[Evidence(kind="alert", ref="k0001", detail="seen")]) for r in range(3)]
    return NewEvent.of(EventType.HYPOTHESES_PROPOSED, HypothesesProposed(agent=agent, hypotheses=late), AT,
                       f"agent:{agent}", f"h-{agent}")


def test_an_agent_appending_onto_an_outline_it_never_folded_stores_a_projection_that_verifies(store):
    """A diagnoser's append lands on the outline `get_head` gives when its container does not know the
    version (another agent appended meanwhile): what it stores is still the outline of the fold.
    (`states` here keeps whole projections; the DynamoDB test reads the stored item.)"""
    from incident_commander.store.port import append_with_retry

    diagnose(store, "i1")
    cold = other_container(store)
    append_with_retry(cold, "i1", lambda _s: [propose("llm")])
    head = cold.get_head("i1")
    assert head.outlined and len(head.hypotheses["llm"]) == 1 and not head.hypotheses["llm"][0].evidence
    assert read_verified(cold, "i1", head)[1].ok
    assert other_container(store).get_state("i1").hypotheses == fold("i1", store.read("i1")).hypotheses
