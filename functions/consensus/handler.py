"""Consensus agent: weighs the diagnosers' votes and records the decision."""

from aws_lambda_powertools import Logger
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    return steps.consensus(_deps, event["incident_id"], event.get("votes") or [], event["execution"],
                           tier=(event.get("context") or {}).get("tier"))
