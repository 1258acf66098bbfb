"""Correlation: which open incident a new alert belongs to, and why.

An incident keeps the set of services that could explain all its alerts (`roots`: the services
every alerting service depends on, itself included). A new alert on service S is compatible with an
incident when some candidate root is in S's dependency closure: one failure could explain both.
Among compatible incidents the closest in time wins; label spelling and namespace break ties.
Two unrelated services failing in the same minute have no common root and stay apart; a database
and the services calling it share the database as a root and become one incident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from ..models.events import GroupingReason
from ..topology import Topology
from .state import OpenIncident

TIME_SCALE_SECONDS = 120.0  # proximity halves roughly every 1.4 minutes of separation


@dataclass(frozen=True)
class Candidate:
    service: str | None
    label: str | None
    namespace: str | None
    starved: bool  # the alert says nothing arrives (its callers may be the cause)
    event_time: datetime
    received_at: datetime


@dataclass(frozen=True)
class Assignment:
    incident: OpenIncident | None  # None: open a new incident
    reason: GroupingReason


def _proximity(inc: OpenIncident, c: Candidate) -> tuple[float, float]:
    """(score in (0,1], seconds) from the nearest alert time of the incident to the candidate."""
    times = [m.last_at for m in inc.services.values()] + [m.first_at for m in inc.services.values()]
    times += list(inc.unresolved.values()) or [inc.last_at]
    gap = min(abs((c.event_time - t).total_seconds()) for t in times)
    return math.exp(-gap / TIME_SCALE_SECONDS), gap


def _label_affinity(inc: OpenIncident, c: Candidate) -> float:
    """+1 when the incident already saw this service under the same label, -1 under another spelling."""
    if c.service is None or c.service not in inc.services or not c.label:
        return 0.0
    labels = inc.services[c.service].labels
    return 1.0 if c.label in labels else -1.0


def compatible_roots(inc: OpenIncident, c: Candidate, topo: Topology) -> frozenset[str] | None:
    """The incident's candidate roots that could also explain the candidate, or None when incompatible."""
    if c.service is None:
        # an alert naming no known service: same namespace only (or no namespace information at all)
        if c.namespace and inc.namespaces and c.namespace not in inc.namespaces:
            return None
        return frozenset(inc.roots or ())
    if inc.roots is None:  # the incident holds only unresolved alerts
        if c.namespace and inc.namespaces and c.namespace not in inc.namespaces:
            return None
        return topo.reach(c.service, c.starved)
    both = frozenset(inc.roots) & topo.reach(c.service, c.starved)
    return both or None


def assign(candidates: list[OpenIncident], c: Candidate, topo: Topology, window_seconds: int) -> Assignment:
    best: tuple[float, OpenIncident, str] | None = None
    for inc in candidates:
        if (c.received_at - inc.last_received_at).total_seconds() > window_seconds:
            continue
        roots = compatible_roots(inc, c, topo)
        if roots is None:
            continue
        prox, gap = _proximity(inc, c)
        affinity = _label_affinity(inc, c)
        score = prox + 0.25 * affinity
        if c.service and c.service in inc.services:
            rule = "same-service"
            score += 0.5
        elif c.service and roots:
            rule = "topology"
        else:
            rule = "scope-time"
        detail = _explain(rule, c, roots, gap, affinity)
        if best is None or score > best[0]:
            best = (score, inc, detail)
    if best is None:
        return Assignment(None, GroupingReason(rule="opened", score=1.0,
                                               detail=f"no open incident could explain {c.service or c.label}"))
    score, inc, detail = best
    rule = detail.split(":", 1)[0]
    return Assignment(inc, GroupingReason(rule=rule, score=round(min(score, 2.0) / 2.0, 3), detail=detail))


def _explain(rule: str, c: Candidate, roots: frozenset[str], gap: float, affinity: float) -> str:
    parts = [f"{rule}:"]
    if rule == "topology":
        shown = ", ".join(sorted(roots)[:4]) + ("..." if len(roots) > 4 else "")
        parts.append(f"{c.service} shares a possible root cause ({shown})")
    elif rule == "same-service":
        parts.append(f"the incident already holds alerts on {c.service}")
    else:
        parts.append(f"same scope, {c.label or 'unnamed service'} has no known dependencies")
    parts.append(f"{int(gap)}s from its nearest alert")
    if affinity > 0:
        parts.append("same label spelling")
    elif affinity < 0:
        parts.append("different label spelling")
    return " ".join(parts[:1]) + " " + "; ".join(parts[1:])


def join(inc: OpenIncident, c: Candidate, topo: Topology, name: str) -> None:
    """Record the candidate in the incident's bounded state."""
    from .state import ServiceMark

    inc.last_at = max(inc.last_at, c.event_time)
    inc.last_received_at = max(inc.last_received_at, c.received_at)
    if c.namespace and c.namespace not in inc.namespaces and len(inc.namespaces) < 20:
        inc.namespaces.append(c.namespace)
    if c.service is None:
        if c.label and (c.label in inc.unresolved or len(inc.unresolved) < 50):
            inc.unresolved[c.label] = c.event_time
        return
    mark = inc.services.get(c.service)
    if mark is None:
        mark = inc.services[c.service] = ServiceMark(first_at=c.event_time, last_at=c.event_time)
    mark.first_at, mark.last_at = min(mark.first_at, c.event_time), max(mark.last_at, c.event_time)
    mark.alerts += 1
    if c.label and c.label not in mark.labels and len(mark.labels) < 10:
        mark.labels.append(c.label)
    if name not in mark.names and len(mark.names) < 20:
        mark.names.append(name)
    closure = topo.reach(c.service, c.starved)
    inc.roots = sorted(closure if inc.roots is None else (set(inc.roots) & closure) or set(inc.roots))
