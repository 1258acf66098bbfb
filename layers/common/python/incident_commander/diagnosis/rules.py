"""Evidence rules: each alert's symptom points at root-cause categories on the service it fires on.

Specific symptoms (OOM, disk full, pods waiting, expired certificate) weigh more than generic ones
(errors, latency); a service alerting only generic symptoms while one of its dependencies also
alerts is usually a victim, not the cause. The graph is used only for that demotion: localising a
silent root is the topology diagnoser's job.
"""

from __future__ import annotations

from ..models import Category, Evidence, Hypothesis
from ..symptoms import STARVATION
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput, ranked
from .evidence import (
    GENERIC,
    SYMPTOM_CATEGORIES,
    TEXT_REFINEMENTS,
    infer_categories,
    is_down,
    profiles,
    symptom_weights,
    under_surge,
)

__all__ = ["ACTIONS", "SYMPTOM_CATEGORIES", "TEXT_REFINEMENTS", "RulesDiagnoser", "action_for"]

C = Category
ACTIONS: dict[Category, str | None] = {
    C.RESOURCE_EXHAUSTION: "restart_service", C.TRAFFIC_SURGE: "scale_out", C.SECURITY_ATTACK: "enable_rate_limit",
    C.BAD_DEPLOY_OR_CONFIG: "rollback_deploy", C.STORAGE_FAILURE: "clear_disk", C.CAPACITY_OR_QUOTA: "scale_out",
    C.APPLICATION_ERROR: "restart_service", C.DEPENDENCY_FAILURE: None, C.NETWORK: None,
    C.AUTH_OR_CREDENTIAL: None, C.PLATFORM_MISCONFIG: None,
}
SEVERITY_FACTOR = {"critical": 1.2, "high": 1.1}


def action_for(category: Category) -> str | None:
    return ACTIONS.get(category)


class RulesDiagnoser(Diagnoser):
    name = "rules"

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        topo = inp.topology
        profs = profiles(inp)
        strength: dict[str, float] = {}
        for svc, p in profs.items():
            s = 0.0
            for o in p.alerts:
                sev = SEVERITY_FACTOR.get(o.alert.severity, 1.0)
                if o.symptom in GENERIC:
                    s += 0.25 * sev
                elif o.symptom in STARVATION:
                    s += 0.1 * sev
                else:
                    s += max((w for _, w in symptom_weights(o, topo)), default=0.3) * sev
            alerting_below = [d for d in topo.closure(svc) if d != svc and d in profs and profs[d].failing]
            if not p.specific and alerting_below:
                s *= 0.5  # generic symptoms above a failing dependency: a victim
            if under_surge(svc, profs, topo):
                s *= 0.5  # saturation below a surging caller: the load's consequence
            if is_down(svc, profs, topo):
                s += 0.4  # its callers fail while it sees no requests: down or unreachable
            elif not p.failing:
                s *= 0.5  # starved and nothing says it is down: the silence comes from upstream
            strength[svc] = s
        out: list[Hypothesis] = []
        total = sum(strength.values()) or 1.0
        for svc in sorted(strength, key=lambda k: (-strength[k], k))[:MAX_HYPOTHESES]:
            cats = infer_categories(svc, profs, topo)
            top = cats[0]
            share = strength[svc] / total
            specific = bool(profs[svc].specific)
            confidence = round(min(0.95, 0.15 + 0.35 * share + 0.2 * min(1.0, strength[svc] / 1.5)
                                   + (0.15 if specific else 0.0) + 0.1 * _margin(cats) * min(1.0, strength[svc])),
                             3)
            evidence = [Evidence(kind="alert", ref=o.alert.key, weight=1.0,
                                 detail=f"{o.alert.name} on {svc} reports {o.symptom.value}")
                        for o in profs[svc].alerts[:10]]
            evidence.append(Evidence(kind="symptom", ref=svc, detail=top.reason, weight=min(10.0, top.weight)))
            if len(cats) > 1:
                evidence.append(Evidence(kind="symptom", ref=svc, supports=False, weight=min(10.0, cats[1].weight),
                                         detail=f"could also be {cats[1].category.value}: {cats[1].reason}"))
            out.append(Hypothesis(category=top.category, service=svc, confidence=confidence,
                                  summary=f"{top.category.value.replace('_', ' ')} on {svc}: {top.reason}",
                                  evidence=evidence, causal_path=[svc], action=action_for(top.category)))
        if not out:  # alerts that name no service: still say what they mean
            unattributed = [o for o in inp.observed if not o.service]
            cats = infer_categories(None, {}, topo)
            for o in unattributed:
                for cat, w in symptom_weights(o, topo):
                    cats.append(type(cats[0])(cat, w, f"{o.alert.name} reports {o.symptom.value}"))
            if unattributed:
                best = max(cats, key=lambda c: c.weight)
                out.append(Hypothesis(category=best.category, service=None, confidence=0.2, summary=best.reason,
                                      evidence=[Evidence(kind="alert", ref=o.alert.key, detail=o.alert.name)
                                                for o in unattributed[:10]], action=action_for(best.category)))
        return ranked(out)


def _margin(cats: list) -> float:
    if len(cats) < 2:
        return 1.0
    total = sum(c.weight for c in cats) or 1.0
    return (cats[0].weight - cats[1].weight) / total
