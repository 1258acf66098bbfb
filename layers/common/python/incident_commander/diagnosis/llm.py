"""Bedrock LLM diagnoser (only when IC_LLM_ENABLED): refines the evidence, never invents.

- The prompt is built from the incident's evidence (alerts, the topology around them, the evidence
  rules' and topology walk's candidates) inside a hard token budget: alerts are sampled, most severe
  first, with the counts kept and the omission stated.
- The model must answer JSON matching `LlmAnswer`; every claim must cite alert keys of this incident
  and services of the topology or the incident. Unknown references are dropped; a hypothesis left
  with no valid citation is dropped; confidence is capped (the model is one voice, not a judge).
- Calls go through a `ModelRouter` (resilience/routing.py): the primary model (`IC_LLM_MODEL_ID`) then
  `IC_LLM_FALLBACK_MODELS`, each behind its circuit breaker and its requests/tokens-per-minute
  limits; a throttled, failing, slow or malformed reply routes to the next model. `notes` says what
  routing did. With no model left, `LlmUnavailable` names why: the workflow records a missing vote
  and the other diagnosers decide.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..models import Category, Evidence, Hypothesis
from .base import MAX_HYPOTHESES, Diagnoser, DiagnosisInput, ranked
from .rules import action_for

MAX_LLM_CONFIDENCE = 0.85
CHARS_PER_TOKEN = 4  # a conservative estimate for English and JSON; the budget is enforced on it
SYSTEM = ("You are a site reliability engineer diagnosing an incident from its alerts. Propose at most "
          f"{MAX_HYPOTHESES} root-cause hypotheses, best first. Use only the categories listed. Cite only alert "
          "keys and services that appear in the evidence. Do not guess beyond the evidence; lower your "
          "confidence when it is thin. Answer with one JSON object and nothing else.")


class LlmUnavailable(RuntimeError):
    pass


class LlmHypothesis(BaseModel):
    category: Category
    service: str | None = None
    confidence: float = Field(ge=0, le=1)
    summary: str = Field("", max_length=500)
    alert_keys: list[str] = Field(default_factory=list, max_length=50)
    causal_path: list[str] = Field(default_factory=list, max_length=20)


class LlmAnswer(BaseModel):
    hypotheses: list[LlmHypothesis] = Field(max_length=10)


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def build_prompt(inp: DiagnosisInput, budget_tokens: int, candidates: list[Hypothesis] | None = None) -> str:
    """The evidence as compact JSON lines, trimmed to the budget (alerts dropped least severe first)."""
    topo = inp.topology
    services = inp.services
    edges = sorted({f"{s} -> {d}" for s in services if s in topo.services for d in topo.services[s].depends_on})
    head = {
        "categories": [c.value for c in Category],
        "answer_schema": {"hypotheses": [{"category": "one of categories", "service": "a service or null",
                                          "confidence": "0..1", "summary": "one sentence",
                                          "alert_keys": ["keys of alerts that support it"],
                                          "causal_path": ["caller", "...", "root"]}]},
        "alerting_services": services,
        "dependencies": edges[:200],
        "other_services": sorted(set(topo.services) - set(services))[:100],
        "candidates_from_evidence": [{"category": h.category.value, "service": h.service,
                                      "confidence": h.confidence, "why": h.summary[:200]}
                                     for h in (candidates or [])[:5]],
    }
    alerts = [{"key": o.alert.key, "name": o.alert.name, "service": o.service, "severity": o.alert.severity,
               "symptom": o.symptom.value, "text": o.alert.title[:200]} for o in inp.observed]
    total = inp.incident.distinct_alerts
    while True:
        shown = len(alerts)
        note = (f"{total - shown} more alerts omitted to fit the budget (least severe first)"
                if shown < total else "all alerts shown")
        prompt = "EVIDENCE\n" + json.dumps(head, separators=(",", ":")) + "\nALERTS (" + note + ")\n" + \
                 "\n".join(json.dumps(a, separators=(",", ":")) for a in alerts) + \
                 "\nAnswer with the JSON object only."
        if estimate_tokens(prompt) <= budget_tokens:
            return prompt
        if alerts:
            alerts = alerts[:max(0, len(alerts) - max(1, len(alerts) // 5))]
            continue
        head["other_services"], head["dependencies"] = [], head["dependencies"][:20]
        if estimate_tokens(prompt) > budget_tokens and not head["candidates_from_evidence"]:
            raise LlmUnavailable(f"the evidence does not fit in {budget_tokens} tokens")
        head["candidates_from_evidence"] = []


def parse_answer(text: str) -> LlmAnswer:
    """The JSON object in a reply (fenced or bare), validated; LlmUnavailable when there is none."""
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        raise LlmUnavailable("the reply holds no JSON object")
    try:
        return LlmAnswer.model_validate_json(m.group(0))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise LlmUnavailable(f"reply does not match the schema at {'.'.join(map(str, first['loc']))}: "
                             f"{first['msg']}") from exc


def grounded(answer: LlmAnswer, inp: DiagnosisInput) -> tuple[list[Hypothesis], list[str]]:
    """Hypotheses whose references exist in this incident; the second value lists what was dropped."""
    keys = set(inp.incident.alerts)
    known = set(inp.topology.services) | set(inp.services)
    by_lower = {s.lower(): s for s in known}
    dropped: list[str] = []
    out: list[Hypothesis] = []
    for i, h in enumerate(answer.hypotheses):
        service = by_lower.get(h.service.lower()) if h.service else None
        if h.service and service is None:
            dropped.append(f"hypothesis {i}: unknown service {h.service!r}")
            continue
        cited = [k for k in h.alert_keys if k in keys]
        dropped += [f"hypothesis {i}: unknown alert {k!r}" for k in h.alert_keys if k not in keys]
        if not cited:
            dropped.append(f"hypothesis {i}: cites no alert of this incident")
            continue
        path = [by_lower[s.lower()] for s in h.causal_path if s.lower() in by_lower]
        evidence = [Evidence(kind="alert", ref=k, detail=f"cited by the model: {inp.incident.alerts[k].name}")
                    for k in cited[:20]]
        evidence.append(Evidence(kind="llm", ref=service or "none", detail=h.summary[:300], weight=1.0))
        out.append(Hypothesis(category=h.category, service=service,
                              confidence=round(min(MAX_LLM_CONFIDENCE, h.confidence), 3),
                              summary=h.summary[:300], evidence=evidence, causal_path=path[:20],
                              action=action_for(h.category)))
    return ranked(out), dropped


class LlmDiagnoser(Diagnoser):
    name = "llm"

    def __init__(self, client: Any = None, config: Any = None, router: Any = None):
        """`router`: a ModelRouter over shared state (the handler's); else one with in-process state."""
        self._client, self._cfg, self._router = client, config, router
        self.notes: list[str] = []
        self.setbacks: list[dict[str, str]] = []  # models skipped or failed on the last call (timeline)
        self.model: str | None = None

    def _config(self):
        if self._cfg is None:
            from ..config import LlmConfig, load_section

            self._cfg = load_section(LlmConfig, "IC_LLM_")
        return self._cfg

    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]:
        from ..adapters.bedrock import BedrockUnavailable, converse, runtime_client
        from .rules import RulesDiagnoser
        from .topology_walk import TopologyDiagnoser

        cfg = self._config()
        if not cfg.enabled:
            raise LlmUnavailable("disabled by configuration (IC_LLM_ENABLED=false)")
        candidates = ranked(RulesDiagnoser().diagnose(inp)[:3] + TopologyDiagnoser().diagnose(inp)[:3])
        prompt = build_prompt(inp, cfg.max_prompt_tokens, candidates)
        if self._client is None:
            self._client = runtime_client(timeout_s=cfg.timeout_seconds, endpoint_url=cfg.endpoint_url or None)
        if self._router is None:
            from ..resilience import InMemoryStateStore
            from ..resilience.runtime import Resilience

            self._router = Resilience(InMemoryStateStore()).router("diagnose", cfg)

        def invoke(model: str) -> list[Hypothesis]:
            text, _usage = converse(self._client, model, SYSTEM, prompt, cfg.max_output_tokens)
            return grounded(parse_answer(text), inp)[0]  # a reply that is not the schema fails the model

        def kind(exc: Exception) -> str:
            return exc.kind if isinstance(exc, BedrockUnavailable) else \
                "malformed" if isinstance(exc, LlmUnavailable) else type(exc).__name__

        routed = self._router.call(invoke, classify=kind, tokens=estimate_tokens(SYSTEM + prompt) + cfg.max_output_tokens)
        self.notes, self.setbacks, self.model = routed.notes, routed.setbacks, routed.model
        if routed.model is None:
            raise LlmUnavailable("; ".join(routed.notes))
        if not routed.value:
            raise LlmUnavailable(f"{routed.model}: no hypothesis survived grounding (all references unknown)")
        return routed.value
