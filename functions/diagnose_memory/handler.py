"""Diagnoser agent (memory: similar past incidents): reads the incident, records ranked hypotheses, returns a small summary.

OpenSearch and the Titan embedder sit behind shared circuit breakers; when either is down the
timeline says which and why, and the branch fails fast (its Catch makes it a missing vote).
"""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.diagnosis.memory import MemoryDiagnoser
from incident_commander.memory.embedders import EmbedderError
from incident_commander.memory.port import MemoryBackendError
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
        _deps.extras["diagnoser:memory"] = MemoryDiagnoser(resilience=Resilience.from_deps(_deps))
    return _deps


@logger.inject_lambda_context
def handler(event, context):
    d = deps()
    agent = os.environ[names.ENV_DIAGNOSER]
    try:
        return steps.diagnose(d, event["incident_id"], agent, event["execution"])
    except (MemoryBackendError, EmbedderError) as exc:
        logger.warning("memory unavailable: missing vote", extra={"reason": str(exc)})
        timeline.record(d, event["incident_id"], event["execution"], agent, timeline.from_memory_error(exc),
                        f"agent:{agent}")
        raise  # the branch's Catch turns it into a missing vote naming the error and its cause
