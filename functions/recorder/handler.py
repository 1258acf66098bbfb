"""Recorder: the workflow's own timeline entries (diagnosis begun, action run, monitoring, timeouts)."""

from aws_lambda_powertools import Logger
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    incident_id, execution, action = event["incident_id"], event["execution"], event["action"]
    if action == "begin":
        return steps.begin(_deps, incident_id, execution, int(event.get("attempt") or 1))
    if action == "remediate":
        return steps.remediate(_deps, incident_id, execution, event.get("approved_by"))
    if action == "monitor":
        return steps.monitor(_deps, incident_id, execution)
    if action == "escalation_timeout":
        return steps.escalation_timed_out(_deps, incident_id, int(event["level"]), execution)
    if action == "unanswered":
        return steps.escalation_unanswered(_deps, incident_id, int(event["level"]), execution)
    raise ValueError(f"unknown recorder action {action!r}")
