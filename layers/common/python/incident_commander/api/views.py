"""How incidents, timelines and decisions are shown by the API (and printed by the CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..impact import assess
from ..models.events import StoredEvent
from ..models.incident import IncidentState
from ..store.integrity import VerifyResult
from ..timeutil import iso
from ..topology import Topology


def _iso(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None


def summary(s: IncidentState, topo: Topology, now: datetime) -> dict[str, Any]:
    impact = assess(s, topo, now)
    root = s.decision.root_cause if s.decision else None
    start = s.first_alert_at or s.opened_at
    end = s.resolved_at or now
    return {
        "id": s.incident_id, "title": s.title, "status": s.status.value, "severity": s.severity,
        "scope": s.scope, "services": s.services, "opened_at": _iso(s.opened_at),
        "first_alert_at": _iso(s.first_alert_at), "updated_at": _iso(s.updated_at),
        "resolved_at": _iso(s.resolved_at), "alerts": s.distinct_alerts, "deliveries": s.alert_deliveries,
        "decision": s.decision_kind, "confidence": s.decision.confidence if s.decision else None,
        "root_cause": {"category": root.category.value, "service": root.service} if root else None,
        "mttr_seconds": round((end - start).total_seconds(), 1) if start else None,
        "cost_per_minute": impact.cost_per_minute, "cost_so_far": impact.cost_so_far,
        "version": s.version,
    }


def detail(s: IncidentState, topo: Topology, now: datetime) -> dict[str, Any]:
    out = summary(s, topo, now)
    impact = assess(s, topo, now)
    out.update({
        "alerts_detail": [{"key": a.key, "source": a.source, "name": a.name, "service": a.service,
                           "label": a.service_label, "status": a.status, "severity": a.severity,
                           "starts_at": _iso(a.starts_at), "received_at": _iso(a.first_received_at),
                           "deliveries": a.deliveries, "flapping": a.flapping, "grouped_because": a.reason}
                          for a in s.alerts.values()],
        "alerts_omitted": s.alerts_omitted,
        "hypotheses": {agent: [h.model_dump(mode="json") for h in hs] for agent, hs in s.hypotheses.items()},
        "faults": s.faults,
        "decision_detail": s.decision.model_dump(mode="json") if s.decision else None,
        "escalation": {"level": s.escalation_level, "open": s.escalation_open} if s.escalation_level is not None else None,
        "human": s.human,
        "impact": impact.model_dump(),
        "confirmed_root_cause": s.confirmed_root_cause,
    })
    return out


def timeline(events: list[StoredEvent], verification: VerifyResult) -> dict[str, Any]:
    return {
        "verified": verification.ok, "verification": verification.model_dump(),
        "events": [{"seq": e.seq, "type": e.type.value, "at": iso(e.at), "recorded_at": iso(e.recorded_at),
                    "actor": e.actor, "data": e.data, "hash": e.hash, "prev_hash": e.prev_hash} for e in events],
    }
