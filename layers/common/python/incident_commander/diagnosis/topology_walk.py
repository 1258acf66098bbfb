"""Topology localisation: walk the dependency graph from the alerting services to the deepest failing
dependency that explains them all (the database under the failing APIs)."""

from __future__ import annotations

from collections import defaultdict

from ..models import Category, Evidence, Hypothesis
from ..symptoms import SELF_CAUSED, STARVATION, Symptom
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput
from .rules import ACTIONS, SYMPTOM_CATEGORIES


class TopologyDiagnoser(Diagnoser):
    name = "topology"

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        topo = inp.topology
        by_service: dict[str, list] = defaultdict(list)
        for o in inp.observed:
            if o.service:
                by_service[o.service].append(o)
        if not by_service:
            return []
        reach = {s: topo.reach(s, all(o.symptom in STARVATION for o in obs)) for s, obs in by_service.items()}
        candidates: set[str] = set().union(*reach.values())
        scored: list[tuple[float, str, list[str]]] = []
        n = len(by_service)
        for c in candidates:
            explained = [s for s, r in reach.items() if c in r]
            coverage = len(explained) / n
            own = by_service.get(c, [])
            self_evidence = any(o.symptom in SELF_CAUSED for o in own)
            score = coverage * (1.0 if self_evidence else 0.8 if own else 0.55)
            # prefer the deepest candidate: it explains the others, they do not explain it
            score += 0.02 * min(topo.depth(c), 10)
            scored.append((score, c, explained))
        scored.sort(key=lambda t: (-t[0], t[1]))
        out = []
        for score, root, explained in scored[:MAX_HYPOTHESES]:
            own = by_service.get(root, [])
            category = self._category(own)
            top = max(explained, key=lambda s: len(topo.dependents(s)) * -1 + len(topo.closure(s)))
            path = topo.path(top, root) or [root]
            evidence = [Evidence(kind="topology", ref=s, detail=f"{s} depends on {root}" if s != root
                                 else f"{root} alerts itself", weight=1.0) for s in explained[:10]]
            evidence += [Evidence(kind="alert", ref=o.alert.key, detail=f"{o.alert.name} on {root}") for o in own[:5]]
            out.append(Hypothesis(category=category, service=root, confidence=round(min(0.95, 0.2 + 0.6 * score), 3),
                                  summary=f"{root} explains {len(explained)} of {len(by_service)} alerting services",
                                  evidence=evidence, causal_path=path, action=ACTIONS.get(category)))
        return out

    @staticmethod
    def _category(own: list) -> Category:
        """The root's own symptoms name the category; a silent root is a failing dependency."""
        scores: dict[Category, float] = defaultdict(float)
        for o in own:
            for category, w in SYMPTOM_CATEGORIES.get(o.symptom, []):
                scores[category] += w * (2.0 if o.symptom in SELF_CAUSED else 1.0)
        if not scores or all(o.symptom in (Symptom.ERRORS, Symptom.LATENCY, Symptom.NO_TRAFFIC) for o in own):
            return Category.DEPENDENCY_FAILURE if not own else max(scores, key=scores.get, default=Category.APPLICATION_ERROR)
        return max(scores, key=lambda k: (scores[k], k.value))
