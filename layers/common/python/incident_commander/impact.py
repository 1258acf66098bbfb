"""Business impact from the topology: what an incident costs per minute, and so far.

Each affected service counts once (shared dependencies are not double counted): its revenue per
minute weighted by its tier and by how degraded its alerts say it is.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from .models.incident import IncidentState
from .symptoms import Symptom, classify
from .topology import Topology

# how much of a service's revenue a symptom removes (a full outage removes all of it)
DEGRADATION = {Symptom.NO_TRAFFIC: 1.0, Symptom.CRASHLOOP: 0.9, Symptom.NOT_READY: 0.8, Symptom.OOM: 0.8,
               Symptom.ERRORS: 0.6, Symptom.ATTACK: 0.6, Symptom.DISK: 0.6, Symptom.NETWORK: 0.5,
               Symptom.AUTH: 0.7, Symptom.LATENCY: 0.3, Symptom.THROTTLING: 0.3, Symptom.TRAFFIC_SPIKE: 0.3}
SEVERITY_FACTOR = {"critical": 1.0, "high": 0.8, "medium": 0.6, "low": 0.3, "info": 0.1}
TIER_FACTOR = {"critical": 1.0, "high": 0.9, "medium": 0.75, "low": 0.5}


class Impact(BaseModel):
    cost_per_minute: float
    users_affected: int
    services: dict[str, float]  # service -> cost per minute it contributes
    cost_so_far: float = 0.0
    minutes: float = 0.0


def assess(state: IncidentState, topo: Topology, now: datetime | None = None) -> Impact:
    degraded: dict[str, float] = {}
    for a in state.alerts.values():
        if not a.service or a.status == "resolved":
            continue
        d = DEGRADATION.get(classify(a.name, a.title), 0.4) * SEVERITY_FACTOR.get(a.severity, 0.6)
        degraded[a.service] = max(degraded.get(a.service, 0.0), d)
    costs: dict[str, float] = {}
    users = 0
    for svc, d in degraded.items():
        spec = topo.services.get(svc)
        if spec is None:
            continue
        costs[svc] = round(spec.revenue_per_minute * d * TIER_FACTOR[spec.tier], 2)
        users = max(users, int(spec.users * d))
    per_minute = round(sum(costs.values()), 2)
    start = state.first_alert_at or state.opened_at
    end = state.resolved_at or now
    minutes = max(0.0, (end - start).total_seconds() / 60) if start and end else 0.0
    return Impact(cost_per_minute=per_minute, users_affected=users, services=costs,
                  cost_so_far=round(per_minute * minutes, 2), minutes=round(minutes, 2))
