"""Business impact from the topology: what an incident costs per minute now, and what it has cost so far.

- Degradation: each firing alert says how badly its service is hurt (its symptom's share of the
  service's value, `ImpactConfig.degradation`, times its severity factor); a service takes its
  worst alert.
- Shared dependencies: a service's callers feel a share (`propagation`) of its degradation, hop by
  hop up the dependency graph. Every service is counted once, at its worst degradation, however
  many paths lead to it, so a database behind four APIs is not paid for four times.
- Cost per minute = sum over services of revenue per minute x degradation x tier factor.
  Users affected = the largest affected population (user bases along one call path overlap).
- Cost so far = the integral of cost per minute over the incident's life: the rate is
  recomputed at every alert firing or resolving, from the incident's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pydantic import BaseModel, Field

from .config import ImpactConfig
from .metrics import impact_start
from .models.events import EventType, StoredEvent
from .models.incident import IncidentState
from .symptoms import classify
from .timeutil import parse_iso
from .topology import Topology

DEFAULT_CONFIG = ImpactConfig()
DETACHED = "alerts.detached"  # EventType.ALERTS_DETACHED: alerts moved to another incident


class ServiceImpact(BaseModel):
    degradation: float  # 0..1 share of the service's value lost
    via: str | None = None  # the dependency whose degradation this service feels (None: its own alerts)
    cost_per_minute: float
    users: int


class Impact(BaseModel):
    cost_per_minute: float
    users_affected: int
    services: dict[str, ServiceImpact] = Field(default_factory=dict)
    unpriced: list[str] = Field(default_factory=list, description="alerting services missing from the topology")
    cost_so_far: float = 0.0
    minutes: float = 0.0


@dataclass(frozen=True)
class AlertChange:
    """An alert starting to fire or resolving, at a moment of the incident's life."""

    at: datetime
    key: str
    firing: bool
    service: str | None = None
    name: str = ""
    title: str = ""
    severity: str = "medium"


@lru_cache(maxsize=4096)
def _symptom(name: str, title: str) -> str:
    return classify(name, title).value  # regexes: worth remembering across the polls of a dashboard


def alert_degradation(name: str, title: str, severity: str, cfg: ImpactConfig = DEFAULT_CONFIG) -> float:
    share = cfg.degradation.get(_symptom(name, title), cfg.default_degradation)
    return share * cfg.severity_factor.get(severity, cfg.severity_factor.get("medium", 0.6))


def rate(observed: dict[str, float], topo: Topology, cfg: ImpactConfig = DEFAULT_CONFIG,
         unpriced: Iterable[str] = ()) -> Impact:
    """Cost per minute from each service's observed degradation (its own alerts)."""
    felt: dict[str, tuple[float, str | None]] = {}

    def visit(svc: str, stack: frozenset[str]) -> tuple[float, str | None]:
        if svc in felt:
            return felt[svc]
        best: tuple[float, str | None] = (observed.get(svc, 0.0), None)
        for dep in topo.services[svc].depends_on:
            if dep in stack:
                continue
            d = visit(dep, stack | {dep})[0] * cfg.propagation
            if d > best[0]:
                best = (d, dep)
        felt[svc] = best
        return best

    services: dict[str, ServiceImpact] = {}
    for svc, spec in topo.services.items():
        d, via = visit(svc, frozenset({svc}))
        if d <= 0:
            continue
        services[svc] = ServiceImpact(
            degradation=round(d, 4), via=via, users=int(spec.users * d),
            cost_per_minute=round(spec.revenue_per_minute * d * cfg.tier_factor.get(spec.tier, 1.0), 2))
    missing = sorted({s for s in observed if s not in topo.services} | set(unpriced))
    return Impact(cost_per_minute=round(sum(s.cost_per_minute for s in services.values()), 2),
                  users_affected=max((s.users for s in services.values()), default=0),
                  services=services, unpriced=missing)


def changes_from_events(events: Sequence[StoredEvent]) -> list[AlertChange]:
    """Every alert's firing and resolving, exactly as the timeline recorded them."""
    known: dict[str, AlertChange] = {}
    out: list[AlertChange] = []
    for e in events:
        if e.type == EventType.ALERTS_ATTACHED:
            for a in e.data.get("alerts", []):
                if a["key"] in known:
                    continue
                c = AlertChange(at=_when(a.get("starts_at"), a["received_at"]), key=a["key"],
                                firing=a["status"] != "resolved", service=a.get("service"), name=a["name"],
                                title=a.get("title", ""), severity=a["severity"])
                known[a["key"]] = c
                out.append(c)
        elif e.type == EventType.ALERTS_UPDATED:
            for ch in e.data.get("changes", []):
                first = known.get(ch["key"])
                if first is not None:
                    out.append(AlertChange(at=parse_iso(ch["at"]), key=ch["key"], firing=ch["status"] != "resolved",
                                           service=first.service, name=first.name, title=first.title,
                                           severity=first.severity))
        elif e.type == DETACHED:  # regrouped into another incident: it counts there, from its start
            gone = set(e.data.get("keys", []))
            out = [c for c in out if c.key not in gone]
            for key in gone:
                known.pop(key, None)
    return out


def changes_from_state(state: IncidentState) -> list[AlertChange]:
    """The same from the projection alone: each alert's first firing and its latest state.

    Exact unless an alert resolved and fired again (then the gap counts as firing); used where the
    events are not at hand (the replay's predictions).
    """
    out: list[AlertChange] = []
    for a in state.alerts.values():
        base = dict(key=a.key, service=a.service, name=a.name, title=a.title, severity=a.severity)
        out.append(AlertChange(at=min(filter(None, [a.starts_at, a.first_received_at])), firing=True, **base))
        if a.status == "resolved":
            out.append(AlertChange(at=a.last_received_at, firing=False, **base))
    return out


def assess(state: IncidentState, topo: Topology, now: datetime | None = None,
           events: Sequence[StoredEvent] | None = None, cfg: ImpactConfig = DEFAULT_CONFIG,
           changes: Sequence[AlertChange] | None = None) -> Impact:
    """The incident's impact now and its cost so far: from its alert history (`changes`, or its
    events) when given, else from its projection."""
    if changes is None:
        changes = changes_from_events(events) if events is not None else changes_from_state(state)
    changes = sorted(changes, key=lambda c: c.at)
    start = impact_start(state) or (changes[0].at if changes else None)  # as the event store's metrics do
    end = state.resolved_at or now or (changes[-1].at if changes else start)
    firing: dict[str, AlertChange] = {}
    total, t, current = 0.0, start, rate({}, topo, cfg)
    for c in changes:
        if start and end and t and c.at > t:
            upto = min(c.at, end)
            if upto > t:
                total += current.cost_per_minute * (upto - t).total_seconds() / 60
                t = upto
        if c.firing:
            firing[c.key] = c
        else:
            firing.pop(c.key, None)
        current = _rate_of(firing.values(), topo, cfg)
    if start and end and t and end > t:
        total += current.cost_per_minute * (end - t).total_seconds() / 60
    minutes = max(0.0, (end - start).total_seconds() / 60) if start and end else 0.0
    if state.resolved_at is not None:  # nothing is being lost any more
        current = current.model_copy(update={"cost_per_minute": 0.0, "users_affected": 0})
    return current.model_copy(update={"cost_so_far": round(total, 2), "minutes": round(minutes, 2)})


def _rate_of(alerts: Iterable[AlertChange], topo: Topology, cfg: ImpactConfig) -> Impact:
    observed: dict[str, float] = {}
    for a in alerts:
        if a.service:
            observed[a.service] = max(observed.get(a.service, 0.0),
                                      alert_degradation(a.name, a.title, a.severity, cfg))
    return rate(observed, topo, cfg)


def _when(starts_at: str | datetime | None, received_at: str | datetime) -> datetime:
    """An alert costs from when it began (its source's start time), never after it was received."""
    received = parse_iso(received_at)
    return min(parse_iso(starts_at), received) if starts_at else received
