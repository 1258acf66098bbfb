"""The event catalogue: typed, validated, versioned events and what each does to the projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.models import events as ev
from incident_commander.models.events import (
    DATA_MODELS,
    Acknowledged,
    ActionRun,
    Archived,
    DecisionMade,
    EventRepaired,
    EventType,
    HumanResponse,
    IncidentOpened,
    Mitigated,
    NewEvent,
    Reopened,
    Resolved,
    SeverityChanged,
)
from incident_commander.models.incident import IncidentStatus, fold
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import from_item, to_item

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened() -> NewEvent:
    return NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="db down", severity="high",
                                                                 first_alert_at=T0), T0, "agent:detection", "o")


def test_every_event_type_has_a_data_model_with_a_schema_version():
    assert set(DATA_MODELS) == set(EventType)
    assert all(m.schema_version >= 1 for m in DATA_MODELS.values())


def test_a_raw_event_is_validated_against_its_type_and_named_when_wrong():
    e = NewEvent(type=EventType.SEVERITY_CHANGED, data={"previous": "low", "severity": "high"}, at=T0, actor="me")
    assert e.data == {"previous": "low", "severity": "high", "reason": ""}  # the canonical, complete shape
    with pytest.raises(ValueError, match=r"incident.severity_changed data: severity: Field required"):
        NewEvent(type=EventType.SEVERITY_CHANGED, data={"previous": "low"}, at=T0, actor="me")
    with pytest.raises(ValueError, match=r"severty: Extra inputs are not permitted"):
        NewEvent(type=EventType.SEVERITY_CHANGED, data={"previous": "low", "severity": "high", "severty": "x"},
                 at=T0, actor="me")
    with pytest.raises(ValueError, match="timezone-aware"):
        NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by="a"), datetime(2026, 1, 1), "me")
    with pytest.raises(TypeError, match="carries Acknowledged"):
        NewEvent.of(EventType.ACKNOWLEDGED, Mitigated(by="a"), T0, "me")


def test_stored_events_record_their_schema_version_and_older_data_is_upcast(monkeypatch):
    store = InMemoryEventStore()
    stored, _ = store.append("i1", 0, [opened(), NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by="ann"), at(1), "h")])
    assert stored[1].schema_version == Acknowledged.schema_version == 1
    item = store.read_items("i1")[1]
    # a later version renames `by` to `who`: old events keep their bytes and are read in the new shape
    monkeypatch.setattr(Acknowledged, "schema_version", 2)
    monkeypatch.setitem(ev.UPCASTERS, (EventType.ACKNOWLEDGED, 1), lambda d: {"who": d["by"], "note": d["note"]})
    old = from_item(item)
    assert old.schema_version == 1 and old.data == {"by": "ann", "note": ""}
    assert old.current_data() == {"who": "ann", "note": ""}
    assert to_item(old) == item  # the stored (hashed) form is untouched
    newer = old.model_copy(update={"schema_version": 3})
    with pytest.raises(ValueError, match="schema version 3; this code reads up to 2"):
        newer.current_data()


def test_the_lifecycle_folds_into_the_projection():
    store = InMemoryEventStore()
    store.append("i1", 0, [opened()])
    steps = [
        NewEvent.of(EventType.SEVERITY_CHANGED, SeverityChanged(previous="high", severity="critical"), at(1), "h:ann"),
        NewEvent.of(EventType.DECISION_MADE, DecisionMade(kind="escalate", confidence=0.4, reason="unsure"), at(2),
                    "agent:consensus"),
        NewEvent.of(EventType.HUMAN_APPROVED, HumanResponse(by="bob"), at(5), "human:bob"),
        NewEvent.of(EventType.ACTION_RUN, ActionRun(action="restart_service", target="db", result="ok"), at(6), "x"),
        NewEvent.of(EventType.RESOLVED, Resolved(by="bob", category="resource_exhaustion", service="db",
                                                 predicted_category="network", predicted_service="db"), at(9), "h:bob"),
    ]
    _, s = store.append("i1", 1, steps)
    assert s.severity == "critical" and s.status == IncidentStatus.RESOLVED
    assert (s.acknowledged_at, s.acknowledged_by) == (at(5), "human:bob")  # an escalation is not an acknowledgement
    assert s.mitigated_at == at(6) and s.resolved_at == at(9) and s.resolved_by == "bob"
    assert s.confirmed_root_cause == {"category": "resource_exhaustion", "service": "db", "by": "bob"}
    assert s.awaits_archive
    _, s = store.append("i1", 6, [NewEvent.of(EventType.REOPENED, Reopened(by="cy", reason="back"), at(20), "h:cy")])
    assert s.status == IncidentStatus.OPEN and s.resolved_at is None and s.confirmed_root_cause is None
    assert s.reopened == 1 and not s.awaits_archive and s.acknowledged_at == at(5)
    assert fold("i1", store.read("i1")) == s  # the projection is exactly the fold of the events


def test_the_commander_acting_on_its_own_acknowledges_and_repairs_and_archives_are_counted():
    store = InMemoryEventStore()
    _, s = store.append("i1", 0, [
        opened(),
        NewEvent.of(EventType.DECISION_MADE, DecisionMade(kind="auto_remediate", confidence=0.9, reason="sure"),
                    at(3), "agent:consensus"),
        NewEvent.of(EventType.EVENT_REPAIRED, EventRepaired(region="eu-west-1", source_region="us-east-1", seqs=[1],
                                                            problem="modified"), at(4), "agent:integrity"),
        NewEvent.of(EventType.ARCHIVED, Archived(bucket="b", key="k", events=3, head_hash="h", sha256="d",
                                                 expires_at=1), at(5), "agent:archiver")])
    assert (s.acknowledged_at, s.acknowledged_by) == (at(3), "agent:consensus")
    assert s.repairs == 1 and s.archive == {"bucket": "b", "key": "k", "events": 3, "head_hash": "h",
                                            "sha256": "d", "expires_at": 1}


def test_one_append_cannot_carry_two_events_with_one_idempotency_key():
    store = InMemoryEventStore()
    ack = NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by="a"), T0, "h", "same")
    with pytest.raises(ValueError, match="share an idempotency key"):
        store.append("i1", 0, [opened(), ack, ack])
    assert store.read_items("i1") == []
