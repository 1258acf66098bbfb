"""Escalation agent: plans the next on-call level; stores the task token and notifies it."""

from aws_lambda_powertools import Logger
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    level = int(event.get("level") or 0)
    if event["action"] == "plan":
        return steps.plan_escalation(_deps, event["incident_id"], level)
    if event["action"] == "notify":
        return steps.notify_escalation(_deps, event["incident_id"], level, event["token"], event["execution"])
    raise ValueError(f"unknown escalation action {event['action']!r}")
