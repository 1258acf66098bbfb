"""MTTD / MTTA / MTTM / MTTR and noise reduction follow their written definitions (metrics.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.metrics import aggregate, incident_metrics, percentile
from incident_commander.models.events import (
    ActionRun,
    AlertRef,
    AlertsAttached,
    DecisionMade,
    EventType,
    GroupingReason,
    HumanResponse,
    IncidentOpened,
    NewEvent,
    Resolved,
)
from incident_commander.store.memory import InMemoryEventStore

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alert(key: str, starts: float, received: float) -> AlertRef:
    return AlertRef(key=key, source="alertmanager", name=key, service="db", status="firing", severity="high",
                    starts_at=t(starts), received_at=t(received), reason=GroupingReason(rule="opened"))


def incident(store, iid: str, *events: NewEvent, deliveries: int = 3):
    opened = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title=iid, severity="high",
                                                                    first_alert_at=t(30)), t(30), "agent:detection"),
              NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=[alert("a", 0, 30), alert("b", 10, 40)],
                                                                    deliveries=deliveries), t(40), "agent:detection")]
    _, s = store.append(iid, 0, [*opened, *events])
    return s


def test_each_span_is_measured_from_the_event_that_sets_it():
    store = InMemoryEventStore()
    s = incident(store, "i1",
                 NewEvent.of(EventType.DECISION_MADE, DecisionMade(kind="escalate", confidence=0.3, reason="?"),
                             t(100), "agent:consensus"),
                 NewEvent.of(EventType.HUMAN_APPROVED, HumanResponse(by="ann"), t(250), "human:ann"),
                 NewEvent.of(EventType.ACTION_RUN, ActionRun(action="restart_service", target="db", result="ok"),
                             t(300), "human:ann"),
                 NewEvent.of(EventType.RESOLVED, Resolved(by="ann"), t(900), "human:ann"))
    m = incident_metrics(s)
    assert m.impact_started_at == t(0)  # the earliest starts_at the sources reported
    assert (m.ttd_seconds, m.tta_seconds, m.ttm_seconds, m.ttr_seconds) == (30, 220, 300, 900)
    assert m.acknowledged_by == "human:ann" and m.alerts == 2 and m.deliveries == 3


def test_an_open_incident_has_no_resolution_time_yet():
    m = incident_metrics(incident(InMemoryEventStore(), "i1"))
    assert m.ttd_seconds == 30 and m.tta_seconds is m.ttm_seconds is m.ttr_seconds is None


def test_aggregates_are_mean_median_p90_and_noise_reduction_is_alerts_per_incident():
    store = InMemoryEventStore()
    rows = []
    for i, minutes in enumerate([10, 20, 30, 40, 100]):
        s = incident(store, f"i{i}", NewEvent.of(EventType.RESOLVED, Resolved(by="x"), t(minutes * 60), "h"),
                     deliveries=10 * (i + 1))
        rows.append(incident_metrics(s))
    rows.append(incident_metrics(incident(store, "open", deliveries=50)))
    agg = aggregate(rows)
    assert agg.incidents == 6 and agg.resolved == 5
    assert agg.mttr.count == 5 and agg.mttr.median == 1800 and agg.mttr.mean == 2400
    assert agg.mttr.p90 == pytest.approx(2400 + 0.6 * (6000 - 2400))  # rank 3.6 of 0..4
    assert agg.mttd.count == 6 and agg.mttd.median == 30
    assert agg.alerts_in == 200 and agg.noise_reduction == pytest.approx(200 / 6, abs=1e-3)
    assert aggregate([]).noise_reduction is None and aggregate([]).mttr.count == 0


@pytest.mark.parametrize("values, p, expected", [
    ([5], 90, 5), ([1, 2], 50, 1.5), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9.1), ([], 50, None)])
def test_percentile_interpolates_linearly(values, p, expected):
    assert percentile(values, p) == expected
