"""The evidence-rules and topology diagnosers on small hand-built incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.diagnosis import DiagnosisInput, get_diagnoser
from incident_commander.diagnosis.base import MAX_ALERTS_CONSIDERED, MAX_HYPOTHESES
from incident_commander.models import Category
from incident_commander.models.incident import AlertView, IncidentState
from incident_commander.symptoms import Symptom, classify
from incident_commander.topology import Topology

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

SHOP = Topology.parse_yaml("""
services:
  edge: {depends_on: [web]}
  web: {depends_on: [orders, catalog, flags]}
  orders: {depends_on: [orders-db, payments, events-queue, flags]}
  catalog: {depends_on: [catalog-db, flags]}
  payments: {depends_on: [flags]}
  mailer: {depends_on: []}
  ledger: {depends_on: [events-queue]}
  orders-db: {aliases: [orders-postgres]}
  catalog-db: {}
  events-queue: {aliases: [kafka]}
  flags: {}
""")


def incident(*alerts: tuple[str, str, str], severity: str = "critical") -> IncidentState:
    """alerts: (alert name, service, description)."""
    views = {}
    for i, (name, service, text) in enumerate(alerts):
        key = f"k{i:03d}"
        views[key] = AlertView(key=key, source="alertmanager", name=name, service=service, service_label=service,
                               status="firing", severity=severity, title=text, starts_at=T0 + timedelta(seconds=i),
                               first_received_at=T0 + timedelta(seconds=i), last_received_at=T0 + timedelta(seconds=i))
    return IncidentState(incident_id="inc-1", alerts=views, services=sorted({a[1] for a in alerts if a[1]}))


def run(name: str, state: IncidentState, topo: Topology = SHOP):
    inp = DiagnosisInput.build(state, topo)
    return inp, get_diagnoser(name).diagnose(inp)


@pytest.mark.parametrize("agent", ["rules", "topology"])
def test_database_with_a_specific_symptom_under_failing_apis_is_the_root(agent):
    state = incident(("HighRequestErrorRate", "web", "error rate above 5%"),
                     ("HighRequestErrorRate", "orders", "error rate above 5%"),
                     ("HighRequestLatency", "orders", "p99 latency above 2s"),
                     ("TooManyConnections", "orders-db", "connection pool exhausted"))
    _, hyps = run(agent, state)
    assert hyps[0].service == "orders-db"
    assert hyps[0].category == Category.RESOURCE_EXHAUSTION
    assert any(e.ref == "k003" for e in hyps[0].evidence)


def test_silent_shared_dependency_is_proposed_with_the_evidence_against_it():
    state = incident(("HighRequestErrorRate", "orders", "errors"), ("HighRequestErrorRate", "catalog", "errors"),
                     ("HighRequestErrorRate", "web", "errors"))
    _, hyps = run("topology", state)
    services = [h.service for h in hyps]
    assert "flags" in services[:3]  # the only dependency orders and catalog share
    flags = hyps[services.index("flags")]
    against = [e for e in flags.evidence if not e.supports]
    assert any("raised no alert" in e.detail for e in against)
    assert flags.causal_path[-1] == "flags" and flags.causal_path[0] in ("web", "edge")


def test_a_starved_service_whose_callers_fail_is_down():
    """orders receives nothing while web fails and nothing else below web fails: orders is down, and what
    orders would have called is starved because of it."""
    state = incident(("HighRequestErrorRate", "web", "errors"), ("HighRequestErrorRate", "edge", "errors"),
                     ("NoRequestsReceived", "orders", "received no requests"),
                     ("NoRequestsReceived", "payments", "received no requests"),
                     ("NoRequestsReceived", "ledger", "stopped consuming"))
    for agent in ("rules", "topology"):
        _, hyps = run(agent, state)
        assert hyps[0].service == "orders", agent


def test_starvation_below_a_failing_service_is_inherited_not_down():
    """payments fails; orders (its caller) fails; ledger, fed by orders through the queue, is starved:
    the starved consumer is a victim of the failing chain, not a root."""
    state = incident(("HighRequestErrorRate", "web", "errors"), ("HighRequestErrorRate", "orders", "errors"),
                     ("HighRequestErrorRate", "payments", "errors"),
                     ("NoRequestsReceived", "ledger", "received no requests"))
    _, hyps = run("topology", state)
    assert hyps[0].service in ("payments", "flags")
    assert "ledger" not in [h.service for h in hyps[:1]]


@pytest.mark.parametrize("alerts,category", [
    ([("KubeContainerWaiting", "payments", "container waiting for longer than 1 hour"),
      ("HighRequestErrorRate", "orders", "errors")], Category.BAD_DEPLOY_OR_CONFIG),
    ([("HighRequestErrorRate", "orders", "errors"), ("HighRequestLatency", "orders", "latency above 1500ms"),
      ("HighRequestErrorRate", "web", "errors")], Category.NETWORK),
    ([("HighRequestErrorRate", "catalog", "errors"), ("NoRequestsReceived", "catalog", "received no requests"),
      ("HighRequestErrorRate", "web", "errors")], Category.PLATFORM_MISCONFIG),
    ([("KubePodCrashLooping", "orders-db", "back-off restarting failed container"),
      ("HighRequestErrorRate", "orders", "errors")], Category.RESOURCE_EXHAUSTION),
    ([("KubePodNotReady", "payments", "non-ready for 15 minutes"), ("HighRequestErrorRate", "orders", "errors")],
     Category.PLATFORM_MISCONFIG),
    ([("KubePodNotReady", "payments", "non-ready for 15 minutes"), ("NoRequestsReceived", "payments", "nothing"),
      ("HighRequestErrorRate", "orders", "errors")], Category.CAPACITY_OR_QUOTA),
])
def test_what_the_root_reports_names_the_category(alerts, category):
    for agent in ("rules", "topology"):
        _, hyps = run(agent, incident(*alerts))
        assert hyps[0].category == category, (agent, hyps[0].summary)


def test_classify_separates_containers_that_cannot_start_from_not_ready_pods():
    assert classify("KubeContainerWaiting") == Symptom.WAITING
    assert classify("KubePodNotReady") == Symptom.NOT_READY
    assert classify("Whatever", "Back-off pulling image: ErrImagePull") == Symptom.WAITING


@pytest.mark.parametrize("agent", ["rules", "topology"])
def test_hypotheses_are_ranked_unique_bounded_and_cite_only_what_exists(agent):
    alerts = [("HighRequestErrorRate", s, "errors") for s in SHOP.services] + \
             [("HighRequestLatency", s, "slow") for s in SHOP.services]
    state = incident(*alerts)
    _, hyps = run(agent, state)
    assert 0 < len(hyps) <= MAX_HYPOTHESES
    confidences = [h.confidence for h in hyps]
    assert confidences == sorted(confidences, reverse=True)
    assert len({(h.category, h.service) for h in hyps}) == len(hyps)
    for h in hyps:
        assert h.service in SHOP.services
        assert all(e.ref in state.alerts for e in h.evidence if e.kind == "alert")
        assert all(e.ref in SHOP.services for e in h.evidence if e.kind == "topology")


def test_storms_are_sampled_with_counts_kept_and_severe_alerts_first():
    alerts = [("HighRequestLatency", "web", "slow")] * (MAX_ALERTS_CONSIDERED + 50)
    state = incident(*alerts, severity="medium")
    state.alerts["k000"] = state.alerts["k000"].model_copy(update={"name": "OOMKilled", "severity": "critical"})
    inp, hyps = run("rules", state)
    assert inp.sampled and len(inp.observed) == MAX_ALERTS_CONSIDERED
    assert state.distinct_alerts == MAX_ALERTS_CONSIDERED + 50
    assert any(o.alert.key == "k000" for o in inp.observed)
    assert hyps[0].category == Category.RESOURCE_EXHAUSTION


def test_no_alert_names_a_service():
    state = incident(("DiskFull", None, "filesystem 98% full"))
    _, hyps = run("rules", state)
    assert hyps and hyps[0].category == Category.STORAGE_FAILURE and hyps[0].service is None
    assert run("topology", state)[1] == []


@pytest.mark.parametrize("agent", ["rules", "topology"])
def test_saturation_below_a_surging_caller_is_the_surge_not_the_database(agent):
    state = incident(("HighRequestRate", "orders", "request rate 6x normal"),
                     ("HighRequestLatency", "orders", "p99 above 2s"), ("HighRequestErrorRate", "web", "errors"),
                     ("HighCPUUtilization", "orders-db", "CPU above 90%"))
    _, hyps = run(agent, state)
    assert (hyps[0].category, hyps[0].service) == (Category.TRAFFIC_SURGE, "orders")


def test_starvation_named_on_no_service_points_at_the_entry_point():
    state = incident(("NoRequestsReceived", None, "namespace shop received no requests"))
    _, hyps = run("topology", state)
    assert hyps[0].service == "edge" and hyps[0].category == Category.PLATFORM_MISCONFIG
    assert any(not e.supports for e in hyps[0].evidence)
