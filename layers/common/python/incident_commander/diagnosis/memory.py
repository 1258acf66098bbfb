"""Memory diagnoser: the most similar past incidents and failure modes, placed on this incident's
services, with the evidence against each as well as for it.

A remembered incident votes for its own root service when that service exists here. A knowledge-base
failure mode is placed by where it says the root sits: on the service showing its symptoms (`self`),
on the deepest silent dependency shared by the services showing them (`dependency`), or on the caller
upstream of starved services (`caller`).
"""

from __future__ import annotations

from collections import Counter

from ..models import Evidence, Hypothesis
from ..symptoms import STARVATION
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput, ranked
from .evidence import Profile, profiles
from .rules import action_for

GENERIC_SYMPTOMS = frozenset({"errors", "latency", "no_traffic", "unknown"})


class MemoryDiagnoser(Diagnoser):
    name = "memory"

    def __init__(self, store=None, top_k: int | None = None, resilience=None):
        """`resilience`: the function's shared breakers (OpenSearch and Titan go behind their circuits)."""
        self._store, self._top_k, self._resilience = store, top_k, resilience

    def _memory(self):
        if self._store is None:
            from ..config import MemoryConfig, load_section
            from ..memory.factory import store_for

            cfg = load_section(MemoryConfig, "IC_MEMORY_")
            self._store, self._top_k = store_for(cfg, self._resilience), self._top_k or cfg.top_k
        return self._store

    @staticmethod
    def query_text(inp: DiagnosisInput) -> str:
        names = Counter(o.alert.name for o in inp.observed)
        symptoms = Counter(o.symptom.value for o in inp.observed)
        return ". ".join([
            "alerts " + " ".join(n for n, _ in names.most_common(30)),
            "symptoms " + " ".join(s.replace("_", " ") for s, _ in symptoms.most_common()),
            "services " + " ".join(inp.services[:30]),
        ])[:2000]

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        from ..memory.model import MemoryQuery

        if not inp.observed:
            return []
        store = self._memory()
        hits = store.search(MemoryQuery(text=self.query_text(inp), k=self._top_k or 8))
        profs = profiles(inp)
        seen = {o.symptom.value for o in inp.observed}
        best: dict[tuple, Hypothesis] = {}
        for hit in hits:
            p = hit.pattern
            target, where = self._place(p, inp, profs)
            if target is None and profs:
                continue
            wanted = set(p.symptoms)
            matched, missing = sorted(wanted & seen), sorted(wanted - seen)
            match = len(matched) / len(wanted) if wanted else 0.3
            against = [Evidence(kind="past_incident", ref=p.id, supports=False, weight=0.5,
                                detail=f"expected {', '.join(missing)}, not seen here") for _ in [0] if missing]
            if p.kind == "incident" and p.service and p.service not in profs:
                against.append(Evidence(kind="past_incident", ref=p.id, supports=False, weight=0.5,
                                        detail=f"{p.service} raised no alert this time"))
            if p.kind == "knowledge":
                against.append(Evidence(kind="past_incident", ref=p.id, supports=False, weight=0.2,
                                        detail="a generic failure mode, not an incident seen before"))
            support = [Evidence(kind="past_incident", ref=p.id, weight=round(min(10.0, 1 + 4 * hit.score), 2),
                                detail=f"{p.title} (similarity {hit.similarity:.2f}; matched "
                                       f"{', '.join(matched) or 'no symptom'}; {where})")]
            if target in profs:
                support += [Evidence(kind="alert", ref=o.alert.key, detail=f"{o.alert.name} on {target}")
                            for o in profs[target].alerts[:5]]
            specific = sum(1 for m in matched if m not in GENERIC_SYMPTOMS)  # specific matches weigh more
            confidence = round(min(0.8, 0.1 + 0.3 * match * hit.score * (1 + 0.5 * min(specific, 2))
                                   + (0.1 if p.kind == "incident" else 0.0) - 0.05 * len(missing)), 3)
            h = Hypothesis(category=p.category, service=target, confidence=max(0.01, confidence),
                           summary=f"like {p.title}" + (f"; fix: {p.fix}" if p.fix else ""),
                           evidence=(support + against)[:50], causal_path=p.topology_path[-5:] if
                           p.kind == "incident" and p.service == target else ([target] if target else []),
                           action=action_for(p.category))
            key = (h.category, h.service)
            if key not in best or h.confidence > best[key].confidence:
                best[key] = h
        return ranked(list(best.values()), MAX_HYPOTHESES)

    @staticmethod
    def _place(p, inp: DiagnosisInput, profs: dict[str, Profile]) -> tuple[str | None, str]:
        topo = inp.topology
        if p.kind == "incident":
            if p.service and (p.service in topo.services or p.service in profs):
                return p.service, "its root service"
            return None, ""
        root = p.outcome.removeprefix("root:") if p.outcome.startswith("root:") else "self"
        wanted = set(p.symptoms)
        # how much of the failure mode's signature a service shows (distinct symptoms; starvation counts less)
        showing = {s: sum(0.3 if sym in GENERIC_SYMPTOMS - {"errors", "latency"} else 1.0
                          for sym in {o.symptom.value for o in pr.alerts} & wanted) for s, pr in profs.items()}
        showing = {s: n for s, n in showing.items() if n}
        if not showing:
            return None, ""
        if root == "dependency":
            failing = [s for s in showing if any(o.symptom not in STARVATION for o in profs[s].alerts)] or \
                list(showing)
            common = set.intersection(*(set(topo.closure(s)) for s in failing))
            silent = [c for c in common if c not in profs]
            if silent:
                return max(silent, key=lambda c: (topo.depth(c), c)), "the silent dependency they share"
            if common:
                return max(common, key=lambda c: (topo.depth(c), c)), "the dependency they share"
        if root == "caller":
            starved = [s for s in showing if profs[s].starved]
            callers = [c for c in profs if any(c in topo.dependents(s) and c != s for s in starved)]
            if callers:
                return max(callers, key=lambda c: (len(topo.closure(c)) * -1, c)), "the caller upstream"
        # self: the service that shows most of the failure mode's symptoms, the deepest on a tie
        return max(showing, key=lambda s: (showing[s], topo.depth(s), s)), "the service showing its symptoms"
