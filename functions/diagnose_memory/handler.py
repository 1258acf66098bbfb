"""Diagnoser agent (memory: similar past incidents): reads the incident, records ranked hypotheses, returns a small summary."""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.runtime import Deps
from incident_commander.workflow import steps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    return steps.diagnose(_deps, event["incident_id"], os.environ[names.ENV_DIAGNOSER], event["execution"])
