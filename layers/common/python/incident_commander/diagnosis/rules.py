"""Evidence rules: each alert's symptom points at root-cause categories on the service it fires on.

Specific symptoms (OOM, disk full, expired certificate) weigh more than generic ones (errors,
latency); a service alerting only generic symptoms is usually a victim, not the cause.
"""

from __future__ import annotations

from collections import defaultdict

from ..models import Category, Evidence, Hypothesis
from ..symptoms import Symptom
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput

C = Category
SYMPTOM_CATEGORIES: dict[Symptom, list[tuple[Category, float]]] = {
    Symptom.OOM: [(C.RESOURCE_EXHAUSTION, 1.0)],
    Symptom.MEMORY: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CPU: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CONNECTIONS: [(C.RESOURCE_EXHAUSTION, 0.9)],
    Symptom.CRASHLOOP: [(C.APPLICATION_ERROR, 0.5), (C.RESOURCE_EXHAUSTION, 0.3), (C.BAD_DEPLOY_OR_CONFIG, 0.3)],
    Symptom.NOT_READY: [(C.PLATFORM_MISCONFIG, 0.5), (C.BAD_DEPLOY_OR_CONFIG, 0.5)],
    Symptom.DISK: [(C.STORAGE_FAILURE, 1.0)],
    Symptom.NETWORK: [(C.NETWORK, 1.0)],
    Symptom.QUEUE: [(C.DEPENDENCY_FAILURE, 0.4), (C.NETWORK, 0.4)],
    Symptom.TRAFFIC_SPIKE: [(C.TRAFFIC_SURGE, 1.0)],
    Symptom.ATTACK: [(C.SECURITY_ATTACK, 1.0)],
    Symptom.THROTTLING: [(C.CAPACITY_OR_QUOTA, 0.9)],
    Symptom.QUOTA: [(C.CAPACITY_OR_QUOTA, 1.0)],
    Symptom.AUTH: [(C.AUTH_OR_CREDENTIAL, 1.0)],
    Symptom.DEPLOY: [(C.BAD_DEPLOY_OR_CONFIG, 1.0)],
    Symptom.CONFIG: [(C.BAD_DEPLOY_OR_CONFIG, 0.8)],
    Symptom.DATABASE: [(C.DEPENDENCY_FAILURE, 0.6)],
    Symptom.ERRORS: [(C.APPLICATION_ERROR, 0.25), (C.DEPENDENCY_FAILURE, 0.2)],
    Symptom.LATENCY: [(C.DEPENDENCY_FAILURE, 0.15), (C.NETWORK, 0.1), (C.RESOURCE_EXHAUSTION, 0.1)],
    Symptom.NO_TRAFFIC: [],
    Symptom.UNKNOWN: [(C.APPLICATION_ERROR, 0.1)],
}
TEXT_REFINEMENTS: list[tuple[Symptom, tuple[str, ...], Category, float]] = [
    (Symptom.CRASHLOOP, ("memory", "oom", "stress"), C.RESOURCE_EXHAUSTION, 0.6),
    (Symptom.NOT_READY, ("waiting", "imagepull", "image pull", "errimage", "createcontainer"),
     C.BAD_DEPLOY_OR_CONFIG, 0.4),
    (Symptom.NOT_READY, ("probe", "unschedulable", "rollout"), C.PLATFORM_MISCONFIG, 0.3),
]
ACTIONS: dict[Category, str | None] = {
    C.RESOURCE_EXHAUSTION: "restart_service", C.TRAFFIC_SURGE: "scale_out", C.SECURITY_ATTACK: "enable_rate_limit",
    C.BAD_DEPLOY_OR_CONFIG: "rollback_deploy", C.STORAGE_FAILURE: "clear_disk", C.CAPACITY_OR_QUOTA: "scale_out",
    C.APPLICATION_ERROR: "restart_service", C.DEPENDENCY_FAILURE: None, C.NETWORK: None,
    C.AUTH_OR_CREDENTIAL: None, C.PLATFORM_MISCONFIG: None,
}


class RulesDiagnoser(Diagnoser):
    name = "rules"

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        scores: dict[tuple[Category, str | None], float] = defaultdict(float)
        evidence: dict[tuple[Category, str | None], list[Evidence]] = defaultdict(list)
        for o in inp.observed:
            text = f"{o.alert.name} {o.alert.title} {o.alert.service_label or ''}".lower()
            weights = list(SYMPTOM_CATEGORIES.get(o.symptom, []))
            for symptom, words, category, w in TEXT_REFINEMENTS:
                if o.symptom == symptom and any(word in text for word in words):
                    weights.append((category, w))
            sev = {"critical": 1.2, "high": 1.1}.get(o.alert.severity, 1.0)
            for category, w in weights:
                key = (category, o.service)
                scores[key] += w * sev
                if len(evidence[key]) < 10:
                    evidence[key].append(Evidence(kind="alert", ref=o.alert.key, weight=round(w, 2),
                                                  detail=f"{o.alert.name} on {o.service or o.alert.service_label}"
                                                         f" reports {o.symptom.value}"))
        if not scores:
            return []
        total = sum(scores.values())
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0][0].value, kv[0][1] or ""))[:MAX_HYPOTHESES]
        out = []
        for (category, service), score in ranked:
            share = score / total
            strength = min(1.0, score / 2.0)
            confidence = round(min(0.95, 0.15 + 0.5 * share + 0.3 * strength), 3)
            out.append(Hypothesis(category=category, service=service, confidence=confidence,
                                  summary=f"{category.value.replace('_', ' ')} on {service or 'an unnamed service'}",
                                  evidence=evidence[(category, service)], causal_path=[service] if service else [],
                                  action=ACTIONS.get(category)))
        return out
