"""Business impact: degradation from alerts, shared dependencies counted once, cost as an integral over time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.config import ImpactConfig
from incident_commander.impact import alert_degradation, assess, rate
from incident_commander.models.events import (
    AlertChange,
    AlertRef,
    AlertsAttached,
    AlertsUpdated,
    EventType,
    GroupingReason,
    IncidentOpened,
    NewEvent,
    Resolved,
)
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHOP = Topology.parse_yaml("""
services:
  web: {tier: critical, revenue_per_minute: 1000, users: 50000, depends_on: [checkout, catalog]}
  checkout: {tier: critical, revenue_per_minute: 600, users: 20000, depends_on: [db]}
  catalog: {tier: high, revenue_per_minute: 100, users: 50000, depends_on: [db]}
  db: {tier: critical, revenue_per_minute: 0, depends_on: []}
  reports: {tier: low, revenue_per_minute: 40, users: 10, depends_on: []}
""")
ERRORS = alert_degradation("HighErrorRate", "", "critical")  # 0.6 with the default map


def minute(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def ref(key: str, service: str, at: datetime, name: str = "HighErrorRate", severity: str = "critical",
        status: str = "firing") -> AlertRef:
    return AlertRef(key=key, source="alertmanager", name=name, service=service, status=status, severity=severity,
                    starts_at=at, received_at=at, reason=GroupingReason(rule="test"))


def incident(store: InMemoryEventStore, *steps: NewEvent) -> None:
    opened = NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="critical",
                                                                   first_alert_at=T0), T0, "test")
    store.append("inc-1", 0, [opened, *steps])


def attach(*alerts: AlertRef) -> NewEvent:
    return NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=list(alerts), deliveries=len(alerts)),
                       alerts[0].received_at, "test")


def update(key: str, status: str, at: datetime) -> NewEvent:
    return NewEvent.of(EventType.ALERTS_UPDATED, AlertsUpdated(changes=[AlertChange(key=key, status=status, at=at)]),
                       at, "test")


def test_a_service_behind_two_paths_is_counted_once():
    now = rate({"db": 1.0}, SHOP)
    # db earns nothing itself; each caller feels half of it, web (two paths to db) a quarter, once
    assert now.services["checkout"].degradation == 0.5 and now.services["catalog"].degradation == 0.5
    assert now.services["web"].degradation == 0.25 and now.services["web"].via in ("checkout", "catalog")
    assert now.cost_per_minute == pytest.approx(600 * 0.5 + 100 * 0.5 * 0.9 + 1000 * 0.25)
    assert "reports" not in now.services
    assert now.users_affected == 25000  # the largest population, not the sum of overlapping ones


def test_a_service_takes_its_worst_degradation_own_or_felt():
    now = rate({"db": 1.0, "checkout": 0.2}, SHOP)
    assert now.services["checkout"].degradation == 0.5 and now.services["checkout"].via == "db"
    now = rate({"db": 0.2, "checkout": 0.9}, SHOP)
    assert now.services["checkout"].degradation == 0.9 and now.services["checkout"].via is None


def test_propagation_and_weights_are_configurable():
    own_only = rate({"db": 1.0, "checkout": 1.0}, SHOP, ImpactConfig(propagation=0))
    assert set(own_only.services) == {"db", "checkout"} and own_only.cost_per_minute == 600
    cheap_critical = rate({"checkout": 1.0}, SHOP, ImpactConfig(tier_factor={"critical": 0.5}, propagation=0))
    assert cheap_critical.cost_per_minute == 300


def test_cost_so_far_integrates_as_alerts_fire_and_resolve():
    store = InMemoryEventStore()
    incident(store,
             attach(ref("a", "checkout", T0)),  # 600 * 0.6 = 360/min, web feels 0.3 -> +300
             attach(ref("b", "catalog", minute(10))),  # + 100 * 0.6 * 0.9 = 54/min (web unchanged at 0.3)
             update("a", "resolved", minute(20)))
    state = store.get_state("inc-1")
    events = store.read("inc-1")
    got = assess(state, SHOP, minute(30), events=events)
    first = 600 * ERRORS + 1000 * ERRORS / 2
    both = first + 100 * ERRORS * 0.9
    after = 100 * ERRORS * 0.9 + 1000 * ERRORS / 2  # only catalog, web still feels it
    assert got.cost_so_far == pytest.approx(10 * first + 10 * both + 10 * after, abs=0.05)
    assert got.cost_per_minute == pytest.approx(after) and got.minutes == 30


def test_a_refiring_alert_is_exact_from_events_and_resolution_stops_the_meter():
    store = InMemoryEventStore()
    incident(store,
             attach(ref("a", "reports", T0, severity="critical")),
             update("a", "resolved", minute(5)), update("a", "firing", minute(15)),
             NewEvent.of(EventType.RESOLVED, Resolved(by="alice"), minute(20), "human:alice"))
    state, events = store.get_state("inc-1"), store.read("inc-1")
    per_minute = 40 * ERRORS * 0.5
    exact = assess(state, SHOP, minute(60), events=events)
    assert exact.cost_so_far == pytest.approx(10 * per_minute, abs=0.01)  # 0-5 and 15-20, not after resolution
    assert exact.cost_per_minute == 0 and exact.minutes == 20
    approx = assess(state, SHOP, minute(60))  # the projection cannot see the gap
    assert approx.cost_so_far == pytest.approx(20 * per_minute, abs=0.01)


def test_unknown_services_are_reported_not_priced_and_info_alerts_cost_nothing():
    store = InMemoryEventStore()
    incident(store, attach(ref("a", "log-shipper", T0), ref("b", "checkout", T0, name="Watchdog", severity="info")))
    got = assess(store.get_state("inc-1"), SHOP, minute(10), events=store.read("inc-1"))
    assert got.unpriced == ["log-shipper"] and got.cost_so_far == 0 and got.services == {}


def test_alerts_regrouped_into_another_incident_cost_only_there():
    from incident_commander.models.events import AlertsDetached

    store = InMemoryEventStore()
    incident(store, attach(ref("a", "checkout", T0), ref("b", "catalog", T0)),
             NewEvent.of(EventType.ALERTS_DETACHED, AlertsDetached(keys=["a"], to_incident="inc-2"), minute(5), "test"))
    got = assess(store.get_state("inc-1"), SHOP, minute(10), events=store.read("inc-1"))
    catalog_only = 100 * ERRORS * 0.9 + 1000 * ERRORS / 2  # catalog and what web feels of it
    assert got.cost_per_minute == pytest.approx(catalog_only)
    assert got.cost_so_far == pytest.approx(10 * catalog_only, abs=0.05), "not even for the minutes before the move"
