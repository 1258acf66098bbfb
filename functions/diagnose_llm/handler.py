"""Diagnoser agent (Bedrock LLM): when enabled, refines the evidence into grounded hypotheses.

When the LLM is off, slow, throttled or wrong, it returns a missing vote (ok: false, with the
reason) instead of failing: the other diagnosers decide.
"""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.diagnosis.llm import LlmUnavailable
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    agent = os.environ[names.ENV_DIAGNOSER]
    try:
        return steps.diagnose(_deps, event["incident_id"], agent, event["execution"])
    except LlmUnavailable as exc:
        logger.info("llm diagnoser stepped aside", extra={"reason": str(exc)})
        return {"agent": agent, "ok": False, "hypotheses": 0, "error": "LlmUnavailable", "cause": str(exc),
                "skipped": "disabled" in str(exc)}
