"""What the alerts say about each service, and which root-cause category a candidate root implies.

Shared by every diagnoser so they read the evidence the same way and differ only in how they
localise. General SRE reading, never scenario-specific:

- a specific symptom on a service (OOM, CPU, crash loop, pods waiting, disk, quota, certificate)
  names the category on that service;
- a service whose callers fail while it records no incoming requests is down or unreachable;
  if it also reports errors itself, requests are being rejected before they reach the process
  (mesh, ingress, probes: the platform in front of it);
- generic symptoms on the path above a silent or generic root: errors together with latency
  point at the network path to it; errors alone at a code or flag defect.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..models import Category
from ..symptoms import SELF_CAUSED, STARVATION, Symptom
from ..topology import Topology
from .base import DiagnosisInput, Observed

C = Category
GENERIC = frozenset({Symptom.ERRORS, Symptom.LATENCY, Symptom.UNKNOWN})

# symptom -> (category, weight): what a symptom on the root itself says about the cause
SYMPTOM_CATEGORIES: dict[Symptom, list[tuple[Category, float]]] = {
    Symptom.OOM: [(C.RESOURCE_EXHAUSTION, 1.0)],
    Symptom.MEMORY: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CPU: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CONNECTIONS: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CRASHLOOP: [(C.BAD_DEPLOY_OR_CONFIG, 0.45), (C.APPLICATION_ERROR, 0.4), (C.RESOURCE_EXHAUSTION, 0.3)],
    Symptom.WAITING: [(C.BAD_DEPLOY_OR_CONFIG, 0.9), (C.PLATFORM_MISCONFIG, 0.2)],
    Symptom.NOT_READY: [(C.PLATFORM_MISCONFIG, 0.6), (C.CAPACITY_OR_QUOTA, 0.35), (C.BAD_DEPLOY_OR_CONFIG, 0.3)],
    Symptom.DISK: [(C.STORAGE_FAILURE, 1.0)],
    Symptom.NETWORK: [(C.NETWORK, 1.0)],
    Symptom.QUEUE: [(C.NETWORK, 0.4), (C.DEPENDENCY_FAILURE, 0.3)],
    Symptom.TRAFFIC_SPIKE: [(C.TRAFFIC_SURGE, 1.0)],
    Symptom.ATTACK: [(C.SECURITY_ATTACK, 1.0)],
    Symptom.THROTTLING: [(C.CAPACITY_OR_QUOTA, 0.9)],
    Symptom.QUOTA: [(C.CAPACITY_OR_QUOTA, 1.0)],
    Symptom.AUTH: [(C.AUTH_OR_CREDENTIAL, 1.0)],
    Symptom.DEPLOY: [(C.BAD_DEPLOY_OR_CONFIG, 1.0)],
    Symptom.CONFIG: [(C.BAD_DEPLOY_OR_CONFIG, 0.8)],
    Symptom.DATABASE: [(C.DEPENDENCY_FAILURE, 0.6)],
    Symptom.ERRORS: [(C.APPLICATION_ERROR, 0.25), (C.DEPENDENCY_FAILURE, 0.2)],
    Symptom.LATENCY: [(C.NETWORK, 0.15), (C.DEPENDENCY_FAILURE, 0.15), (C.RESOURCE_EXHAUSTION, 0.1)],
    Symptom.NO_TRAFFIC: [],
    Symptom.UNKNOWN: [(C.APPLICATION_ERROR, 0.1)],
}
# words in an alert's name or text that sharpen what a broad symptom means
TEXT_REFINEMENTS: list[tuple[Symptom, tuple[str, ...], Category, float]] = [
    (Symptom.CRASHLOOP, ("memory", "oom", "stress", "evict", "failed state", "failedpod"), C.RESOURCE_EXHAUSTION, 0.7),
    (Symptom.CRASHLOOP, ("config", "secret", "env"), C.BAD_DEPLOY_OR_CONFIG, 0.4),
    (Symptom.NOT_READY, ("rollout", "probe", "unschedulable"), C.PLATFORM_MISCONFIG, 0.4),
    (Symptom.NOT_READY, ("pending", "insufficient", "quota"), C.CAPACITY_OR_QUOTA, 0.5),
]
# a crash-looping datastore is most often out of memory or disk (general knowledge of caches and databases)
DATASTORE_WORDS = frozenset({"db", "database", "postgres", "postgresql", "mysql", "mariadb", "redis", "valkey",
                             "memcached", "cache", "mongo", "mongodb", "cassandra", "elasticsearch", "opensearch"})
QUEUE_WORDS = frozenset({"kafka", "queue", "sqs", "kinesis", "rabbitmq", "nats", "pubsub", "eventbus", "broker"})
DATASTORE_KINDS = frozenset({"database", "cache", "datastore", "storage"})
QUEUE_KINDS = frozenset({"queue", "stream", "broker"})
_TOKENS = re.compile(r"[^a-z0-9]+")


def _kind_words(topo: Topology, service: str) -> set[str]:
    svc = topo.services.get(service)
    words = set(_TOKENS.split(service.lower()))
    if svc is not None:
        for a in svc.aliases:
            words |= set(_TOKENS.split(a.lower()))
        if svc.kind:
            words.add(svc.kind.lower())
    return words


def is_datastore(topo: Topology, service: str) -> bool:
    svc = topo.services.get(service)
    if svc is not None and svc.kind:
        return svc.kind.lower() in DATASTORE_KINDS
    return bool(_kind_words(topo, service) & DATASTORE_WORDS)


def is_queue(topo: Topology, service: str) -> bool:
    svc = topo.services.get(service)
    if svc is not None and svc.kind:
        return svc.kind.lower() in QUEUE_KINDS
    return bool(_kind_words(topo, service) & QUEUE_WORDS)


@dataclass
class Profile:
    """Everything the incident's alerts say about one service."""

    service: str
    alerts: list[Observed] = field(default_factory=list)

    @property
    def symptoms(self) -> Counter:
        return Counter(o.symptom for o in self.alerts)

    @property
    def errors(self) -> bool:
        return any(o.symptom == Symptom.ERRORS for o in self.alerts)

    @property
    def latency(self) -> bool:
        return any(o.symptom == Symptom.LATENCY for o in self.alerts)

    @property
    def starved(self) -> bool:
        return any(o.symptom in STARVATION for o in self.alerts)

    @property
    def specific(self) -> list[Observed]:
        """Alerts that say something about the service itself, beyond "failing" or "starved"."""
        return [o for o in self.alerts if o.symptom not in GENERIC and o.symptom not in STARVATION]

    @property
    def self_caused(self) -> bool:
        return any(o.symptom in SELF_CAUSED for o in self.alerts)

    @property
    def failing(self) -> bool:
        """It reports trouble of its own (not merely an absence of traffic)."""
        return any(o.symptom not in STARVATION for o in self.alerts)


def callers(topo: Topology, service: str) -> list[str]:
    """Services that call `service` directly."""
    return sorted(name for name, svc in topo.services.items() if service in svc.depends_on)


def is_down(service: str, profs: dict[str, Profile], topo: Topology) -> bool:
    """Starved while a caller fails, and nothing else failing below that caller explains its failure:
    the callers fail because they cannot reach it."""
    p = profs.get(service)
    if p is None or not p.starved:
        return False
    for c in callers(topo, service):
        if c in profs and profs[c].failing:
            others = [d for d in topo.closure(c) if d not in (c, service) and d in profs and profs[d].failing]
            if not others:
                return True
    return False


# load arrives from above: saturation under a surging caller is the surge's consequence, not its cause
SURGE = frozenset({Symptom.TRAFFIC_SPIKE, Symptom.ATTACK})
LOAD = frozenset({Symptom.CPU, Symptom.MEMORY, Symptom.CONNECTIONS, Symptom.LATENCY, Symptom.THROTTLING,
                  Symptom.ERRORS, Symptom.QUEUE})


def surging(p: Profile | None) -> bool:
    return p is not None and any(o.symptom in SURGE for o in p.alerts)


def under_surge(service: str, profs: dict[str, Profile], topo: Topology) -> str | None:
    """A surging service above `service` when `service` shows nothing but load symptoms."""
    p = profs.get(service)
    if p is None or surging(p) or any(o.symptom not in LOAD | STARVATION for o in p.alerts):
        return None
    return next((d for d in sorted(topo.dependents(service)) if d != service and surging(profs.get(d))), None)


def profiles(inp: DiagnosisInput) -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    for o in inp.observed:
        if o.service:
            out.setdefault(o.service, Profile(o.service)).alerts.append(o)
    return out


def symptom_weights(o: Observed, topo: Topology | None = None) -> list[tuple[Category, float]]:
    """The categories one alert points at, its text and the kind of service sharpening the mapping."""
    weights = list(SYMPTOM_CATEGORIES.get(o.symptom, []))
    text = f"{o.alert.name} {o.alert.title} {o.alert.service_label or ''}".lower()
    for symptom, words, category, w in TEXT_REFINEMENTS:
        if o.symptom == symptom and any(word in text for word in words):
            weights.append((category, w))
    if o.symptom == Symptom.CRASHLOOP and topo is not None and o.service and is_datastore(topo, o.service):
        weights.append((C.RESOURCE_EXHAUSTION, 0.5))
    return weights


@dataclass(frozen=True)
class CategoryVote:
    category: Category
    weight: float
    reason: str


def infer_categories(root: str | None, profs: dict[str, Profile], topo: Topology) -> list[CategoryVote]:
    """Ranked categories for a root-cause candidate, from its own alerts and from the pattern above it."""
    scores: dict[Category, float] = defaultdict(float)
    reasons: dict[Category, str] = {}

    def add(cat: Category, w: float, why: str) -> None:
        scores[cat] += w
        if cat not in reasons or w >= 0.3:
            reasons[cat] = why

    own = profs.get(root) if root else None
    specific = own.specific if own else []
    for o in specific:
        for cat, w in symptom_weights(o, topo):
            add(cat, 2.0 * w, f"{o.alert.name} on {root} reports {o.symptom.value}")
    if own and own.starved and not own.errors and any(o.symptom == Symptom.NOT_READY for o in own.alerts) \
            and not any(o.symptom in (Symptom.WAITING, Symptom.CRASHLOOP) for o in own.alerts):
        # no ready replica and no traffic at all: pods that cannot be scheduled or admitted (quota,
        # capacity) more often than probes failing under load (those still serve, with errors)
        add(C.CAPACITY_OR_QUOTA, 0.9, f"{root} has no ready pod and receives nothing: pods not admitted")
    if own and own.starved and own.errors and not own.latency:
        add(C.PLATFORM_MISCONFIG, 0.7, f"{root} reports errors yet receives no requests: rejected before the process")
        add(C.APPLICATION_ERROR, 0.4, f"{root} reports errors and no traffic")
    elif own and not own.failing and is_down(root, profs, topo):
        add(C.APPLICATION_ERROR, 0.5, f"{root} receives no requests while its callers fail: down or unreachable")
        add(C.BAD_DEPLOY_OR_CONFIG, 0.3, f"{root} is down")
    # the pattern on the root and on the failing services above it
    above = [profs[s] for s in (topo.dependents(root) if root else ()) if s in profs and s != root]
    scope = ([own] if own else []) + above
    err = any(p.errors for p in scope)
    lat = any(p.latency for p in scope)
    rejecting = bool(own and own.starved and own.errors and not own.latency)
    damp = 0.15 if specific else 0.3 if rejecting else 1.0  # what the root says of itself comes first
    near = "on and above " + (root or "the root")
    if err and lat:
        add(C.NETWORK, 0.6 * damp, f"errors together with latency {near}: the network path")
        add(C.RESOURCE_EXHAUSTION, 0.15 * damp, f"latency {near}")
    elif err:
        add(C.APPLICATION_ERROR, 0.5 * damp, f"errors without latency {near}: a defect or bad flag")
        add(C.BAD_DEPLOY_OR_CONFIG, 0.2 * damp, f"errors without latency {near}")
    elif lat:
        add(C.NETWORK, 0.4 * damp, f"latency {near}")
        add(C.RESOURCE_EXHAUSTION, 0.3 * damp, f"latency {near}")
    if not scores:
        add(C.DEPENDENCY_FAILURE, 0.3, "no specific evidence")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0].value))
    return [CategoryVote(c, round(w, 3), reasons[c]) for c, w in ranked]
