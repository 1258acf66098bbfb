"""Learning agent: on `incident.resolved` (from the incident event bus), store the incident as a
memory pattern; a later resolution with a human-corrected root cause replaces it."""

from aws_lambda_powertools import Logger
from incident_commander.memory.handlers import learn_from_event
from incident_commander.resilience.runtime import Resilience
from incident_commander.runtime import Deps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    if _deps is None:
        _deps = Deps.from_env()
        Resilience.from_deps(_deps)  # OpenSearch and Titan behind the shared circuits
    return learn_from_event(_deps, event)
