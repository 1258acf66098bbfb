"""Learning: a resolved incident becomes a pattern; a human correction of its root cause replaces it.

The pattern is rebuilt from the event store's fold every time (the event is only a trigger), keyed
by the incident id, so a re-resolution or a correction overwrites the earlier pattern.
"""

from __future__ import annotations

from typing import Any

from ..models.incident import IncidentState
from ..symptoms import classify
from .model import Pattern
from .port import MemoryStore


class NotLearnable(ValueError):
    """The incident cannot be learned from (not resolved, or no confirmed or decided root cause)."""


def pattern_from_incident(state: IncidentState) -> Pattern:
    if state.resolved_at is None:
        raise NotLearnable(f"{state.incident_id} is not resolved")
    confirmed = state.confirmed_root_cause or {}
    decided = state.decision.root_cause if state.decision and state.decision.root_cause else None
    category = confirmed.get("category") or (decided.category.value if decided else None)
    service = confirmed.get("service") or (decided.service if decided else None)
    if not category:
        raise NotLearnable(f"{state.incident_id} has no confirmed or decided root cause")
    corrected = bool(confirmed) and decided is not None and (
        confirmed.get("category") not in (None, decided.category.value)
        or confirmed.get("service") not in (None, decided.service))
    alerts = list(state.alerts.values())
    symptoms = sorted({classify(a.name, a.title).value for a in alerts})
    path = list(decided.causal_path) if decided and decided.service == service else ([service] if service else [])
    fix = ""
    if state.decision and state.decision.action:
        fix = f"{state.decision.action} on {service or 'the root service'}"
    start = state.first_alert_at or state.opened_at
    ttr = (state.resolved_at - start).total_seconds() if start else None
    names = sorted({a.name for a in alerts})
    title = f"{category.replace('_', ' ')} on {service or 'an unnamed service'}: " + ", ".join(names[:6])
    return Pattern(id=f"incident:{state.incident_id}", kind="incident", title=title[:500], category=category,
                   service=service, services=sorted(state.services), symptoms=symptoms, alert_names=names[:200],
                   topology_path=path, fix=fix, time_to_resolve_s=max(0.0, ttr) if ttr is not None else None,
                   outcome="corrected" if corrected else "confirmed" if confirmed else "resolved",
                   created_at=state.resolved_at, updated_at=state.updated_at)


def learn(store: MemoryStore, state: IncidentState) -> dict[str, Any]:
    """Write (or replace) the incident's pattern; the summary says what was stored."""
    p = pattern_from_incident(state)
    res = store.upsert([p])
    if not res.ok:
        raise RuntimeError(f"memory rejected {p.id}: {res.errors.get(p.id)}")
    return {"pattern": p.id, "category": p.category.value, "service": p.service, "outcome": p.outcome}
