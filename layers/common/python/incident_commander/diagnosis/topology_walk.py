"""Topology localisation: walk the dependency graph from the alerting services to the deepest failing
dependency that explains them all (the database under the failing APIs), silent ones included.

A candidate explains a failing service when it is that service or lies below it; it explains a
starved service ("no requests received") when it is that service, one of its callers, or a producer
into a queue the service consumes. Candidates are scored by how much they explain, by what their own
alerts say (a specific symptom, or down: callers fail while it receives nothing), and by depth.
"""

from __future__ import annotations

from ..models import Category, Evidence, Hypothesis
from ..symptoms import STARVATION
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput, ranked
from .evidence import Profile, infer_categories, is_down, is_queue, profiles, surging, under_surge
from .rules import action_for


class TopologyDiagnoser(Diagnoser):
    name = "topology"

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        topo = inp.topology
        profs = profiles(inp)
        if not profs:
            return self._unattributed(inp)
        failing = [s for s, p in profs.items() if p.failing]
        starved = [s for s, p in profs.items() if p.starved]
        fail_reach = {s: topo.closure(s) | ({u} if (u := under_surge(s, profs, topo)) else set()) for s in failing}
        upstream = {s: self._upstream(inp, s) for s in starved}
        # ...or below a failing upstream service, when the candidate itself is failing or silent
        below = {s: set().union(*(topo.closure(u) for u in up if u != s and u in profs and profs[u].failing))
                 for s, up in upstream.items()}
        candidates = set().union(*fail_reach.values(), *upstream.values(), *below.values())
        scored: list[tuple[float, str, list[str]]] = []
        for c in candidates:
            f_expl = [s for s in failing if c in fail_reach[s]]
            can_fail_others = c not in profs or profs[c].failing
            s_expl = [s for s in starved if c in upstream[s] or (can_fail_others and c in below[s])]
            if failing and starved:
                base = 0.7 * len(f_expl) / len(failing) + 0.3 * len(s_expl) / len(starved)
            else:
                base = len(f_expl) / len(failing) if failing else len(s_expl) / len(starved)
            own = self._own_factor(profs.get(c), c, profs, topo)
            score = base * own + 0.02 * min(topo.depth(c), 10)
            scored.append((score, c, sorted(set(f_expl) | set(s_expl))))
        scored.sort(key=lambda t: (-t[0], t[1]))
        out = []
        top_score = scored[0][0] if scored else 1.0
        for rank, (score, root, explained) in enumerate(scored[:MAX_HYPOTHESES]):
            cats = infer_categories(root, profs, topo)
            cat = cats[0]
            entry = max(explained, key=lambda s: (len(topo.closure(s)), s)) if explained else root
            path = topo.path(entry, root) or [root]
            n_alerting = len(profs)
            evidence = [Evidence(kind="topology", ref=s, weight=1.0,
                                 detail=f"{s} depends on {root}" if root in topo.closure(s) and s != root
                                 else f"{root} alerts itself" if s == root else f"{root} feeds {s}")
                        for s in explained[:10]]
            evidence += [Evidence(kind="alert", ref=o.alert.key, detail=f"{o.alert.name} on {root}")
                         for o in (profs[root].alerts[:5] if root in profs else [])]
            unexplained = [s for s in profs if s not in explained]
            if unexplained:
                evidence.append(Evidence(kind="topology", ref=unexplained[0], supports=False, weight=1.0,
                                         detail=f"{root} does not explain {len(unexplained)} alerting service(s): "
                                                f"{', '.join(sorted(unexplained)[:5])}"))
            if root not in profs:
                evidence.append(Evidence(kind="topology", ref=root, supports=False, weight=0.5,
                                         detail=f"{root} raised no alert of its own"))
            evidence.append(Evidence(kind="symptom", ref=root, detail=cat.reason, weight=min(10.0, cat.weight)))
            rel = score / top_score if top_score else 0.0
            confidence = round(min(0.95, 0.1 + 0.55 * min(1.0, score) * rel ** 2
                                   + (0.15 if rank == 0 and len(scored) > 1 and scored[1][0] < 0.85 * score else 0)),
                               3)
            out.append(Hypothesis(category=cat.category, service=root, confidence=confidence,
                                  summary=f"{root} explains {len(explained)} of {n_alerting} alerting services; "
                                          f"{cat.reason}",
                                  evidence=evidence[:50], causal_path=path, action=action_for(cat.category)))
        return ranked(out)

    @staticmethod
    def _unattributed(inp: DiagnosisInput) -> list[Hypothesis]:
        """Alerts that name no service (a namespace, a cluster): when they say nothing arrives, the
        entry points of the topology (services no one calls), the widest first, are where traffic stops."""
        topo = inp.topology
        starved = [o for o in inp.observed if o.symptom in STARVATION]
        if not starved or not topo.services:
            return []
        entries = [s for s in topo.services if topo.dependents(s) == {s}]
        entries.sort(key=lambda s: (-len(topo.closure(s)), s))
        widest = len(topo.closure(entries[0])) if entries else 1
        out = []
        for s in entries[:MAX_HYPOTHESES]:
            share = len(topo.closure(s)) / widest
            out.append(Hypothesis(
                category=Category.PLATFORM_MISCONFIG, service=s, confidence=round(0.1 + 0.25 * share, 3),
                summary=f"nothing arrives anywhere behind {s}: the entry point (ingress, gateway) in front of "
                        f"{len(topo.closure(s))} services",
                evidence=[Evidence(kind="alert", ref=o.alert.key, detail=f"{o.alert.name} names no service")
                          for o in starved[:10]]
                + [Evidence(kind="topology", ref=s, supports=False, weight=0.5,
                            detail="inferred from the topology alone: no alert names a service")],
                causal_path=[s], action=action_for(Category.PLATFORM_MISCONFIG)))
        return out

    @staticmethod
    def _upstream(inp: DiagnosisInput, s: str) -> frozenset[str]:
        """Who could stop traffic reaching s: itself, its callers, or producers into a queue it consumes."""
        topo = inp.topology
        acc = set(topo.dependents(s))
        svc = topo.services.get(s)
        for q in (svc.depends_on if svc else []):
            if is_queue(topo, q):
                acc |= topo.dependents(q)
        return frozenset(acc)

    @staticmethod
    def _own_factor(p: Profile | None, c: str, profs: dict[str, Profile], topo) -> float:
        if p is None:
            return 0.55  # silent: possible, but nothing of its own says so
        if under_surge(c, profs, topo):
            return 0.6  # saturated by the load arriving from a surging caller
        if p.self_caused or surging(p):
            return 1.0
        if (p.starved and p.errors) or is_down(c, profs, topo):
            return 0.95  # down, or rejecting requests before they reach it
        if p.failing:
            return 0.8
        return 0.6
