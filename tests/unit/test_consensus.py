"""Consensus: weighting, quorum, Byzantine screening, policy — and the f < n/3 property."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from incident_commander.config import ConsensusConfig
from incident_commander.consensus import AgentRecord, Ballot, Universe, decide
from incident_commander.consensus.engine import capped_weights, weighted_median
from incident_commander.models import Category, DecisionKind

CFG = ConsensusConfig()
SERVICES = ["db", "api", "web", "cache", "queue"]
KEYS = ["a1", "a2", "a3"]
U = Universe.of(KEYS, SERVICES)


def hyp(category="resource_exhaustion", service="db", confidence=0.9, action="restart_service", evidence=None):
    return {"category": category, "service": service, "confidence": confidence, "action": action,
            "evidence": evidence if evidence is not None else [{"kind": "alert", "ref": "a1", "detail": "x"}]}


def test_agreeing_confident_agents_auto_remediate():
    d = decide([Ballot("rules", [hyp()]), Ballot("topology", [hyp(confidence=0.85)])], CFG, U)
    assert d.kind == DecisionKind.AUTO_REMEDIATE and d.root_cause.service == "db" and d.agreement == 1.0
    assert d.action == "restart_service" and 0.85 <= d.confidence <= 0.9


def test_below_quorum_escalates_and_says_why():
    d = decide([Ballot("rules", [hyp()]), Ballot("topology", error="States.Timeout: took too long")], CFG, U)
    assert d.kind == DecisionKind.ESCALATE and "below quorum" in d.reason
    (failed,) = [v for v in d.votes if v.excluded]
    assert failed.agent == "topology" and failed.fault == "failed"


def test_disagreement_escalates_even_when_confident():
    d = decide([Ballot("rules", [hyp(service="db")]), Ballot("topology", [hyp(service="api", confidence=0.95)])],
               CFG, U)
    assert d.kind == DecisionKind.ESCALATE and "agreement" in d.reason


def test_action_must_be_allow_listed_and_tier_threshold_applies():
    d = decide([Ballot("a", [hyp(action="drop_table")]), Ballot("b", [hyp(action="drop_table")])], CFG, U,
               severity="high")
    assert d.kind == DecisionKind.ESCALATE and "not allow-listed" in d.reason
    d = decide([Ballot("a", [hyp(confidence=0.86)]), Ballot("b", [hyp(confidence=0.86)])], CFG, U, tier="critical",
               severity="high")
    assert d.kind == DecisionKind.ESCALATE and "< 0.90" in d.reason


def test_low_severity_self_healing_pattern_is_monitored():
    ballots = [Ballot("a", [hyp(category="traffic_surge", action=None, confidence=0.7)]),
               Ballot("b", [hyp(category="traffic_surge", action=None, confidence=0.6)])]
    assert decide(ballots, CFG, U, severity="low").kind == DecisionKind.MONITOR
    assert decide(ballots, CFG, U, severity="critical").kind == DecisionKind.ESCALATE


def test_conflicts_use_ranked_hypotheses_then_evidence_strength():
    # no majority of top choices: the candidate both rank high wins
    d = decide([Ballot("a", [hyp(service="api", confidence=0.6), hyp(service="db", confidence=0.55)]),
                Ballot("b", [hyp(service="web", confidence=0.6), hyp(service="db", confidence=0.55)]),
                Ballot("c", [hyp(service="db", confidence=0.5)])], CFG, U)
    assert d.root_cause.service == "db"
    strong = [{"kind": "alert", "ref": "a1", "weight": 3.0}, {"kind": "alert", "ref": "a2", "weight": 3.0}]
    d = decide([Ballot("a", [hyp(service="api", confidence=0.6, evidence=strong)]),
                Ballot("b", [hyp(service="web", confidence=0.6)])], CFG, U)
    assert d.root_cause.service == "api"


def test_weights_follow_track_records_but_no_agent_dictates():
    records = {"veteran": AgentRecord(correct=99, decided=100), "rookie": AgentRecord(correct=0, decided=100)}
    w = capped_weights({a: r.weight for a, r in records.items()}, 0.5)
    assert w == pytest.approx({"veteran": 0.5, "rookie": 0.5})  # capped: two agents cannot be outweighed
    w3 = capped_weights({"a": 0.99, "b": 0.3, "c": 0.3}, 0.5)
    assert w3 == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.25})


def test_persistent_outliers_are_excluded():
    bad = AgentRecord(recent_outlier=[True] * 8)
    d = decide([Ballot("a", [hyp()]), Ballot("b", [hyp()]), Ballot("odd", [hyp(service="api")])], CFG, U,
               records={"odd": bad})
    (v,) = [v for v in d.votes if v.agent == "odd"]
    assert v.excluded and "persistent outlier" in v.excluded and d.agreement == 1.0


def test_an_outvoted_agent_is_flagged_as_outlier():
    d = decide([Ballot("a", [hyp()]), Ballot("b", [hyp()]), Ballot("c", [hyp()]), Ballot("d", [hyp(service="api")])],
               CFG, U)
    assert [v.agent for v in d.votes if v.outlier] == ["d"] and d.root_cause.service == "db"


def test_weighted_median():
    assert weighted_median([(0.1, 1), (0.9, 1), (0.8, 1)]) == 0.8
    assert weighted_median([(0.1, 3), (0.9, 1)]) == 0.1


# --- Byzantine screening ---------------------------------------------------------------------
def _screen_one(raw):
    d = decide([Ballot("a", [hyp()]), Ballot("b", [hyp()]), Ballot("x", raw)], CFG, U)
    return next(v for v in d.votes if v.agent == "x")


def test_each_kind_of_bad_vote_is_excluded_with_its_reason():
    cases = {
        "malformed": "not a list",
        "out_of_bounds": [hyp(confidence=1.7)],
        "self_contradictory": [hyp(confidence=0.5), hyp(service="api", confidence=0.9)],
        "fabricated_evidence": [hyp(evidence=[{"kind": "alert", "ref": "no-such-alert"}])],
    }
    for fault, raw in cases.items():
        v = _screen_one(raw)
        assert v.fault == fault and v.excluded, (fault, v)
    assert _screen_one([hyp(service="ghost-service")]).fault == "fabricated_evidence"
    assert _screen_one([hyp(), hyp()]).fault == "self_contradictory"
    assert _screen_one([hyp(category="gremlins")]).fault == "malformed"


# --- the f < n/3 property --------------------------------------------------------------------
categories = st.sampled_from(list(Category))
services = st.sampled_from(SERVICES)
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=8)


@st.composite
def faulty_vote(draw):
    kind = draw(st.sampled_from(["junk", "valid", "bounds", "fabricated", "error", "flood"]))
    if kind == "junk":
        return Ballot("f", draw(junk))
    if kind == "error":
        return Ballot("f", error=draw(st.text(max_size=20)) or "boom")
    n = draw(st.integers(1, 4))
    hs = []
    for i in range(n):
        hs.append(hyp(category=draw(categories).value, service=draw(services),
                      confidence=1.0 - i * 0.1, action=draw(st.sampled_from(["restart_service", "drop_table", None]))))
    if kind == "bounds":
        hs[0]["confidence"] = draw(st.sampled_from([-1.0, 1.5, 99.0]))
    if kind == "fabricated":
        hs[0]["evidence"] = [{"kind": "alert", "ref": "forged"}]
    if kind == "flood":
        hs = [hyp(category=c.value, service=draw(services), confidence=1.0) for c in list(Category)[:3]]
    return Ballot("f", hs)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(f=st.integers(0, 3), extra=st.integers(0, 2), category=categories, service=services,
       band=st.sampled_from([(0.1, 0.45), (0.55, 0.75), (0.9, 1.0)]), severity=st.sampled_from(["low", "high"]),
       data=st.data())
def test_f_faulty_agents_of_n_at_least_3f_plus_1_cannot_change_the_decision(f, extra, category, service, band,
                                                                             severity, data):
    """Honest agents agree on a root cause with confidences on one side of every threshold; f faulty agents
    say anything at all. The root cause and the decision are those of the honest agents alone."""
    n_honest = 2 * f + 1 + extra  # n = n_honest + f >= 3f + 1
    lo, hi = band
    action = "restart_service"
    honest = []
    for i in range(n_honest):
        c = data.draw(st.floats(lo, hi))
        second = hyp(category=data.draw(categories).value, service=data.draw(services), confidence=c / 2, action=None)
        hs = [hyp(category=category.value, service=service, confidence=c, action=action)]
        if (second["category"], second["service"]) != (category.value, service):
            hs.append(second)
        honest.append(Ballot(f"h{i}", hs))
    faulty = [Ballot(f"f{i}", data.draw(faulty_vote()).hypotheses, data.draw(faulty_vote()).error) for i in range(f)]
    cfg = ConsensusConfig(quorum=1)
    clean = decide(honest, cfg, U, severity=severity)
    attacked = decide(honest + faulty, cfg, U, severity=severity)
    assert (attacked.root_cause.category, attacked.root_cause.service) == (category, service)
    assert attacked.kind == clean.kind
    assert lo <= attacked.confidence <= hi


# --- track records ---------------------------------------------------------------------------
def test_track_record_learns_from_confirmed_root_causes_once():
    from incident_commander.consensus.track_record import learn_from_resolution
    from incident_commander.models import Hypothesis
    from incident_commander.models.incident import IncidentState

    class Control:
        def __init__(self):
            self.records = {}

        def update_agent_record(self, agent, change):
            self.records[agent] = change(self.records.get(agent, AgentRecord()))

    state = IncidentState(incident_id="i1", confirmed_root_cause={"category": "network", "service": "db"},
                          hypotheses={"right": [Hypothesis(category="network", service="db", confidence=0.9)],
                                      "half": [Hypothesis(category="storage_failure", service="db", confidence=0.9)],
                                      "wrong": [Hypothesis(category="network", service="api", confidence=0.9)]})
    control = Control()
    assert learn_from_resolution(control, state) == {"right": 1.0, "half": 0.5, "wrong": 0.0}
    learn_from_resolution(control, state)  # the same resolution delivered twice counts once
    r = control.records
    assert r["right"].decided == 1 and r["right"].weight == 2 / 3 and r["wrong"].weight == 1 / 3
    assert r["half"].correct == 0.5


def test_an_agent_switched_off_is_not_a_voter_nor_a_fault():
    from datetime import UTC, datetime

    from incident_commander.config import Settings
    from incident_commander.models import Hypothesis
    from incident_commander.models.events import EventType, HypothesesProposed, IncidentOpened, NewEvent
    from incident_commander.runtime import Deps
    from incident_commander.store.memory import InMemoryEventStore
    from incident_commander.topology import Topology
    from incident_commander.workflow import steps

    at = datetime(2026, 1, 1, tzinfo=UTC)
    store = InMemoryEventStore()
    h = Hypothesis(category="network", service="db", confidence=0.7)
    store.append("i1", 0, [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                               first_alert_at=at), at, "t")]
                 + [NewEvent.of(EventType.HYPOTHESES_PROPOSED, HypothesesProposed(agent=a, hypotheses=[h]), at, "t")
                    for a in ("rules", "topology")])
    topo = Topology.model_validate({"services": {"db": {}}})
    deps = Deps(settings=Settings(), events=store, topology=lambda: topo, clock=lambda: at)
    steps.consensus(deps, "i1", [{"agent": "rules", "ok": True}, {"agent": "topology", "ok": True},
                                 {"agent": "llm", "ok": False, "skipped": True, "error": "LlmUnavailable"}], "x")
    state = store.get_state("i1")
    assert state.faults == [] and [v.agent for v in state.decision.votes] == ["rules", "topology"]


def test_the_threshold_is_that_of_the_tier_of_the_service_acted_on():
    ballots = [Ballot("a", [hyp(confidence=0.82)]), Ballot("b", [hyp(confidence=0.82)])]
    assert decide(ballots, CFG, U, tier="critical", severity="high").kind == DecisionKind.ESCALATE
    assert decide(ballots, CFG, U, tier="critical", severity="high",
                  tiers={"db": "low"}).kind == DecisionKind.AUTO_REMEDIATE
