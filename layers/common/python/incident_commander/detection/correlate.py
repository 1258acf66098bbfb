"""Correlation: which open incident a new alert belongs to, and why.

An incident keeps the set of services that could explain all its alerts (`roots`). What an alert
can be explained by depends on what it says (`symptoms.classify`):

- most symptoms (errors, latency, ...) on S: S or anything S depends on (its dependency closure);
- a starved service (nothing arrives) points upstream: its callers, the other direct users of the
  channels it reads (a queue or database it shares), and whatever those depend on. A dependency
  that a third of the platform calls directly (feature flags, auth, mesh) is not such a channel:
  sharing it says nothing about the flow of requests;
- an alert that names one of S's dependencies (`HighKafkaConsumerLag` on a consumer) is about
  that link: S, or the named dependency and what is below it;
- a self-caused symptom (crash loop, pods not ready, OOM, CPU...) anchors the incident on S: two
  anchored services where neither depends on the other are two problems, not one.

A new alert is compatible with an incident when one failure could explain both (their root sets
intersect), when it did not start well before the incident's earliest alert unless it could be the
incident's own cause (effects do not precede causes), and when anchors agree. Among compatible
incidents the closest in time wins; the same service, an alert on the incident's anchor, and the
same label spelling add to the score. Two unrelated services failing in the same minute have no
common root and stay apart; a database and the services calling it become one incident.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from ..models.events import GroupingReason
from ..symptoms import SELF_CAUSED, STARVATION, Symptom, normalise_text
from ..topology import Topology
from .state import OpenIncident, ServiceMark

TIME_SCALE_SECONDS = 120.0  # proximity halves roughly every 1.4 minutes of separation
CAUSALITY_SLACK_SECONDS = 60.0  # alert rules fire after a pending period: allow this much lead
HUB_SHARE = 1 / 3  # a dependency called directly by this share of its component is shared infrastructure
_TOKENS = re.compile(r"[a-z0-9]+")

# evidence kinds, stored per service mark so an incident's roots can be recomputed after a move
CLOSURE, STARVED, VIA = "closure", "starved", "via:"


@dataclass(frozen=True)
class Candidate:
    service: str | None
    label: str | None
    namespace: str | None
    name: str
    symptom: Symptom
    event_time: datetime
    received_at: datetime
    kind: str = CLOSURE  # how the alert points at causes: CLOSURE, STARVED or VIA + dependency

    @property
    def anchored(self) -> bool:
        return self.symptom in SELF_CAUSED and self.service is not None


@dataclass(frozen=True)
class Assignment:
    incident: OpenIncident | None  # None: open a new incident
    reason: GroupingReason


class Graph:
    """Topology questions correlation asks on every alert, answered once per topology and cached."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self._explain: dict[tuple[str, str], frozenset[str]] = {}
        self._mentions: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {}
        direct: dict[str, int] = {}
        sizes: dict[str | None, int] = {}
        for name, spec in topo.services.items():
            sizes[topo.component(name)] = sizes.get(topo.component(name), 0) + 1
            for d in spec.depends_on:
                direct[d] = direct.get(d, 0) + 1
        self.hubs = frozenset(d for d, count in direct.items()
                              if count >= 3 and count >= HUB_SHARE * (sizes[topo.component(d)] - 1))

    def kind_of(self, service: str | None, symptom: Symptom, text: str) -> str:
        if service is None or service not in self.topo.services:
            return CLOSURE
        if symptom in STARVATION:
            return STARVED
        named = self.mentioned_dependency(service, text)
        return VIA + named if named else CLOSURE

    def explain(self, service: str, kind: str) -> frozenset[str]:
        """Services whose failure could explain an alert of this kind on `service`."""
        key = (service, kind)
        out = self._explain.get(key)
        if out is None:
            out = self._explain[key] = self._compute(service, kind)
        return out

    def _compute(self, service: str, kind: str) -> frozenset[str]:
        topo = self.topo
        if service not in topo.services or kind == CLOSURE:
            return topo.closure(service)
        if kind.startswith(VIA):
            return frozenset({service}) | topo.closure(kind[len(VIA):])
        # starved: itself, its callers (transitively), the other direct users of the channels it reads,
        # and what those depend on
        upstream = set(topo.dependents(service)) - {service}
        for dep in topo.services[service].depends_on:
            if dep not in self.hubs:
                upstream |= {s for s, spec in topo.services.items() if dep in spec.depends_on and s != service}
        acc: set[str] = {service}
        for s in upstream:
            acc |= topo.closure(s)
        return frozenset(acc)

    def mentioned_dependency(self, service: str, text: str) -> str | None:
        """A dependency of `service` that the alert's own words name (whole tokens), nearest first."""
        names = self._mentions.get(service)
        if names is None:
            pairs = []
            for dep in sorted(self.topo.closure(service) - {service},
                              key=lambda d: (len(self.topo.path(service, d)), d)):
                for spelling in (dep, *self.topo.services[dep].aliases):
                    seq = tuple(_TOKENS.findall(spelling.lower()))
                    if seq:
                        pairs.append((seq, dep))
            names = self._mentions[service] = tuple(pairs)
        if not names:
            return None
        tokens = tuple(_TOKENS.findall(normalise_text(text)))
        for seq, dep in names:
            k = len(seq)
            if any(tokens[i:i + k] == seq for i in range(len(tokens) - k + 1)):
                return dep
        return None

    def related(self, a: str, b: str) -> bool:
        """One of the two could cause the other (a path of dependencies between them)."""
        return b in self.topo.closure(a) or a in self.topo.closure(b)


_GRAPHS: dict[int, Graph] = {}


def graph(topo: Topology) -> Graph:
    g = _GRAPHS.get(id(topo))
    if g is None or g.topo is not topo:
        if len(_GRAPHS) >= 8:
            _GRAPHS.clear()
        g = _GRAPHS[id(topo)] = Graph(topo)
    return g


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


def compatible_roots(inc: OpenIncident, c: Candidate, g: Graph) -> frozenset[str] | None:
    """The incident's candidate roots that could also explain the candidate, or None when incompatible."""
    if c.service is None:
        # an alert naming no known service: same namespace only (or no namespace information at all)
        if c.namespace and inc.namespaces and c.namespace not in inc.namespaces:
            return None
        return frozenset(inc.roots or ())
    if inc.roots is None:  # the incident holds only unresolved alerts
        if c.namespace and inc.namespaces and c.namespace not in inc.namespaces:
            return None
        return g.explain(c.service, c.kind)
    roots = frozenset(inc.roots)
    both = roots & g.explain(c.service, c.kind)
    if not both:
        return None
    if c.anchored and (any(not g.related(a, c.service) for a in inc.anchors)
                       or (c.service not in roots and not _explains_most(inc, c.service, g))):
        return None  # a service failing by itself that explains little of the incident is another problem
    if inc.specific and c.service not in roots and \
            ((inc.earliest or inc.last_at) - c.event_time).total_seconds() > CAUSALITY_SLACK_SECONDS:
        return None  # began before the failure the incident pins down, and cannot be its cause
    return both


def _explains_most(inc: OpenIncident, service: str, g: Graph) -> bool:
    """Whether `service` failing could explain more than half of the services the incident holds."""
    marks = inc.services
    explained = sum(1 for s, m in marks.items() if all(service in g.explain(s, k) for k in m.kinds or [CLOSURE]))
    return explained * 2 > len(marks)


def assign(candidates: list[OpenIncident], c: Candidate, topo: Topology, window_seconds: int) -> Assignment:
    g = graph(topo)
    best: tuple[float, OpenIncident, str] | None = None
    for inc in candidates:
        if (c.received_at - inc.last_received_at).total_seconds() > window_seconds:
            continue
        roots = compatible_roots(inc, c, g)
        if roots is None:
            continue
        prox, gap = _proximity(inc, c)
        affinity = _label_affinity(inc, c)
        score = prox + 0.25 * affinity
        if c.service and c.service in inc.anchors:
            rule = "anchor"
            score += 1.0
        elif c.service and c.service in inc.services:
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
    elif rule == "anchor":
        parts.append(f"the incident is anchored on {c.service} (its own failure)")
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
    inc.last_at = max(inc.last_at, c.event_time)
    inc.earliest = min(inc.earliest or c.event_time, c.event_time)
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
    if c.kind not in mark.kinds:
        mark.kinds.append(c.kind)
    if c.anchored and c.service not in inc.anchors and len(inc.anchors) < 20:
        inc.anchors.append(c.service)
    inc.specific = inc.specific or c.anchored or c.kind.startswith(VIA)
    explained = graph(topo).explain(c.service, c.kind)
    inc.roots = sorted(explained if inc.roots is None else (set(inc.roots) & explained) or set(inc.roots))


def recompute_roots(inc: OpenIncident, topo: Topology) -> list[str] | None:
    """The incident's roots from its service marks (after alerts moved between incidents)."""
    g = graph(topo)
    roots: set[str] | None = None
    for service, mark in inc.services.items():
        for kind in mark.kinds or [CLOSURE]:
            explained = g.explain(service, kind)
            roots = set(explained) if roots is None else (roots & explained) or roots
    return sorted(roots) if roots is not None else None
