"""Diagnoser agent (Bedrock LLM): when enabled, refines the evidence into grounded hypotheses.

Calls are routed over the primary and fallback models (shared breakers, per-model rate limits).
When the LLM is off, or no model can answer, it returns a missing vote (ok: false, with the reason)
instead of failing: the other diagnosers decide, and the timeline says which models failed and why.
"""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.diagnosis.llm import LlmDiagnoser, LlmUnavailable
from incident_commander.resilience import timeline
from incident_commander.resilience.runtime import Resilience
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


def deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = Deps.from_env()
        Resilience.from_deps(_deps)
        _deps.extras["diagnoser:llm"] = LlmDiagnoser(router=_deps.extras["model_router"])
    return _deps


@logger.inject_lambda_context
def handler(event, context):
    d = deps()
    agent, llm = os.environ[names.ENV_DIAGNOSER], d.extras["diagnoser:llm"]
    llm.setbacks, llm.model = [], None
    try:
        result = steps.diagnose(d, event["incident_id"], agent, event["execution"])
    except LlmUnavailable as exc:
        logger.info("llm diagnoser stepped aside", extra={"reason": str(exc)})
        result = {"agent": agent, "ok": False, "hypotheses": 0, "error": "LlmUnavailable", "cause": str(exc),
                  "skipped": "disabled" in str(exc)}
    timeline.record(d, event["incident_id"], event["execution"], agent, timeline.from_route(llm.setbacks, llm.model),
                    f"agent:{agent}")
    return result
