"""Consensus compute per incident (target <= 100 ms): the pure engine and the whole workflow step.

    .venv/bin/python -m benchmarks.consensus

Ballots are realistic worst cases: 6 agents x 10 hypotheses x 30 evidence items over an incident
of 500 alerts; the step figure includes reading the incident and appending the decision (in-memory
store) — what the consensus Lambda does per incident besides its DynamoDB round trips.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime

from incident_commander.config import ConsensusConfig
from incident_commander.consensus import Ballot, Universe, decide
from incident_commander.models import Category

random.seed(7)
SERVICES = [f"svc-{i}" for i in range(60)]
KEYS = [f"{i:016x}" for i in range(500)]


def ballots(n_agents: int = 6) -> list[Ballot]:
    out = []
    for a in range(n_agents):
        hs = []
        used = set()
        for rank in range(10):
            key = (random.choice(list(Category)).value, random.choice(SERVICES[:8]))
            if key in used:
                continue
            used.add(key)
            hs.append({"category": key[0], "service": key[1], "confidence": round(0.95 - rank * 0.08, 3),
                       "action": "restart_service", "causal_path": SERVICES[:4],
                       "evidence": [{"kind": "alert", "ref": random.choice(KEYS), "detail": "x" * 60}
                                    for _ in range(30)]})
        out.append(Ballot(f"agent-{a}", hs))
    return out


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    cfg = ConsensusConfig()
    u = Universe.of(KEYS, SERVICES)
    cases = [ballots() for _ in range(50)]
    engine_ms = [t for c in cases for t in timed(lambda c=c: decide(c, cfg, u), 4)]
    q = statistics.quantiles(engine_ms, n=100)
    print(f"consensus engine: p50 {statistics.median(engine_ms):.2f} ms, p99 {q[98]:.2f} ms per incident "
          f"(6 agents x 10 hypotheses x 30 evidence, {len(engine_ms)} runs) — target <= 100 ms")
    step_ms = _step_figures(cases[:20])
    q = statistics.quantiles(step_ms, n=100)
    print(f"consensus step (read incident, screen, decide, append events): p50 {statistics.median(step_ms):.2f} ms, "
          f"p99 {q[98]:.2f} ms per incident (500-alert incident, in-memory store)")


def _step_figures(cases: list[list[Ballot]]) -> list[float]:
    from incident_commander.config import Settings
    from incident_commander.models import Hypothesis
    from incident_commander.models.events import (
        AlertRef,
        AlertsAttached,
        EventType,
        GroupingReason,
        HypothesesProposed,
        IncidentOpened,
        NewEvent,
    )
    from incident_commander.runtime import Deps
    from incident_commander.store.memory import InMemoryEventStore
    from incident_commander.topology import Topology
    from incident_commander.workflow import steps

    topo = Topology.model_validate({"services": {s: {} for s in SERVICES}})
    at = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[float] = []
    for n, ballots_ in enumerate(cases):
        store = InMemoryEventStore()
        iid = f"inc-{n}"
        alerts = [AlertRef(key=k, source="alertmanager", name="HighErrorRate", service=random.choice(SERVICES),
                           status="firing", severity="high", received_at=at, reason=GroupingReason(rule="x"))
                  for k in KEYS]
        evs = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                     first_alert_at=at), at, "bench"),
               NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=alerts, deliveries=500), at, "bench")]
        evs += [NewEvent.of(EventType.HYPOTHESES_PROPOSED, HypothesesProposed(
            agent=b.agent, hypotheses=[Hypothesis.model_validate(h) for h in b.hypotheses]), at, "bench")
            for b in ballots_]
        store.append(iid, 0, evs)
        deps = Deps(settings=Settings(), events=store, topology=lambda: topo, clock=lambda: at)
        branches = [{"agent": b.agent, "ok": True} for b in ballots_]
        t0 = time.perf_counter()
        steps.consensus(deps, iid, branches, f"exec-{n}")
        out.append((time.perf_counter() - t0) * 1000)
    return out


if __name__ == "__main__":
    main()
