"""Escalation agent: plans the next on-call level; stores the task token and notifies it (Slack,
PagerDuty, behind shared breakers and rate limits; a failed notification never blocks the wait)."""

from aws_lambda_powertools import Logger
from incident_commander.notify.notifier import from_env as notifier_from_env
from incident_commander.resilience.runtime import Resilience
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


def deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = Deps.from_env()
        _deps.extras["notifier"] = notifier_from_env(Resilience.from_deps(_deps))
    return _deps


@logger.inject_lambda_context
def handler(event, context):
    level = int(event.get("level") or 0)
    if event["action"] == "plan":
        return steps.plan_escalation(deps(), event["incident_id"], level)
    if event["action"] == "notify":
        return steps.notify_escalation(deps(), event["incident_id"], level, event["token"], event["execution"])
    raise ValueError(f"unknown escalation action {event['action']!r}")
