"""The learning agent's logic: incident.resolved from the bus -> a pattern in memory."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from incident_commander.memory.embedded import EmbeddedMemory
from incident_commander.memory.embedders import HashingEmbedder
from incident_commander.memory.handlers import BadLearningEvent, learn_from_event

from .test_diagnosis import incident
from .test_diagnosis_memory_llm import DB_STORM, resolved


def deps_with(state):
    return SimpleNamespace(events=SimpleNamespace(get_state=lambda iid: state if iid == state.incident_id else None))


def event(iid: str, kind: str = "incident.resolved") -> dict:
    return {"source": "incident-commander", "detail-type": kind, "detail": {"incident_id": iid, "seq": 9}}


def test_resolved_event_writes_the_confirmed_root_cause_and_a_correction_replaces_it(tmp_path):
    store = EmbeddedMemory(tmp_path / "m.sqlite", HashingEmbedder())
    state = resolved(incident(*DB_STORM).model_copy(update={"incident_id": "inc-7"}))
    out = learn_from_event(deps_with(state), event("inc-7"), store)
    assert out == {"learned": True, "pattern": "incident:inc-7", "category": "resource_exhaustion",
                   "service": "orders-db", "outcome": "confirmed"}
    fixed = resolved(state, category="dependency_failure", service="orders")
    assert learn_from_event(deps_with(fixed), event("inc-7"), store)["outcome"] == "corrected"
    assert store.count() == 1 and store.get("incident:inc-7").service == "orders"


def test_other_events_are_ignored_and_bad_ones_named(tmp_path):
    store = EmbeddedMemory(tmp_path / "m.sqlite", HashingEmbedder())
    state = incident(*DB_STORM)
    assert learn_from_event(deps_with(state), event("inc-1", "incident.opened"), store)["learned"] is False
    assert learn_from_event(deps_with(state), event("inc-1"), store) == {
        "learned": False, "reason": "inc-1 is not resolved"}
    with pytest.raises(BadLearningEvent, match="detail.incident_id"):
        learn_from_event(deps_with(state), {"detail-type": "incident.resolved", "detail": {}}, store)
    with pytest.raises(BadLearningEvent, match="does not exist"):
        learn_from_event(deps_with(state), event("inc-404"), store)
    assert store.count() == 0
