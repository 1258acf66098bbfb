"""How incidents, timelines and decisions are shown by the API (and so by the dashboard and the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..impact import Impact
from ..metrics import impact_start, incident_metrics
from ..models.events import StoredEvent
from ..models.incident import IncidentState, IncidentStatus
from ..store.integrity import VerifyResult
from ..timeutil import iso


def _iso(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None


def mttr_seconds(s: IncidentState, now: datetime) -> float | None:
    """Impact start to resolution (the event store's TTR, metrics.py); while open, to now (MTTR so far)."""
    start = impact_start(s)
    return round(max(0.0, ((s.resolved_at or now) - start).total_seconds()), 1) if start else None


def pipeline(s: IncidentState) -> list[dict[str, str]]:
    """Where each agent stands: detection -> diagnosis -> consensus -> decision."""
    closed = s.status == IncidentStatus.RESOLVED
    diagnosing, voted, decided = s.executions > 0, s.decision is not None, s.decision_kind is not None

    def state(done: bool, active: bool) -> str:
        return "done" if done or closed else "active" if active else "pending"

    agents = [f"{a}: {hs[0].category.value} @ {hs[0].service}" if hs else f"{a}: no hypothesis"
              for a, hs in sorted(s.hypotheses.items())] + [f"{f.get('agent')}: {f.get('kind')}" for f in s.faults]
    waiting = s.escalation_open and s.human is None
    if s.human:
        outcome = f"{s.human.get('response')} by {s.human.get('by')}"
    elif decided:
        outcome = s.decision_kind + (f", waiting for on-call level {s.escalation_level}" if waiting else "")
    else:
        outcome = ""
    return [
        {"stage": "detection", "state": state(diagnosing, True),
         "detail": f"{s.distinct_alerts} alerts grouped" + ("" if diagnosing else ", waiting for the storm to settle")},
        {"stage": "diagnosis", "state": state(voted, diagnosing), "detail": "; ".join(agents)},
        {"stage": "consensus", "state": state(voted, diagnosing and bool(s.hypotheses)),
         "detail": (f"margin {s.decision.margin:.2f}, agreement {s.decision.agreement:.2f}" if s.decision else "")},
        {"stage": "decision", "state": state(decided and not waiting, voted or waiting), "detail": outcome},
    ]


def current_stage(stages: Sequence[dict[str, str]]) -> str:
    return next((st["stage"] for st in stages if st["state"] != "done"), "done")


def summary(s: IncidentState, impact: Impact, now: datetime) -> dict[str, Any]:
    root = s.decision.root_cause if s.decision else None
    return {
        "id": s.incident_id, "title": s.title, "status": s.status.value, "severity": s.severity,
        "scope": s.scope, "services": s.services, "opened_at": _iso(s.opened_at),
        "first_alert_at": _iso(s.first_alert_at), "updated_at": _iso(s.updated_at),
        "resolved_at": _iso(s.resolved_at), "alerts": s.distinct_alerts, "deliveries": s.alert_deliveries,
        "decision": s.decision_kind, "confidence": s.decision.confidence if s.decision else None,
        "root_cause": {"category": root.category.value, "service": root.service} if root else None,
        "stage": current_stage(pipeline(s)), "mttr_seconds": mttr_seconds(s, now),
        "cost_per_minute": impact.cost_per_minute, "cost_so_far": impact.cost_so_far,
        "users_affected": impact.users_affected, "version": s.version,
    }


def detail(s: IncidentState, impact: Impact, now: datetime) -> dict[str, Any]:
    out = summary(s, impact, now)
    out.update({
        "now": iso(now),
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
        "impact": impact.model_dump(mode="json"),
        "confirmed_root_cause": s.confirmed_root_cause,
        "pipeline": pipeline(s),
        "metrics": incident_metrics(s).model_dump(mode="json"),
    })
    return out


def timeline(events: list[StoredEvent], verification: VerifyResult) -> dict[str, Any]:
    return {
        "verified": verification.ok, "verification": verification.model_dump(mode="json"),
        "events": [{"seq": e.seq, "type": e.type.value, "at": iso(e.at), "recorded_at": iso(e.recorded_at),
                    "actor": e.actor, "data": e.data, "hash": e.hash, "prev_hash": e.prev_hash} for e in events],
    }
