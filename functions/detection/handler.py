"""Detection agent (Kinesis): normalise, dedup, correlate; open incidents; start their workflows.

Also takes scheduled ticks (EventBridge) that open aged candidates and start incidents whose settle
time passed.
"""

from aws_lambda_powertools import Logger
from incident_commander.detection.service import build_engine, memory_guard, on_kinesis, on_tick
from incident_commander.runtime import Deps

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    engine = build_engine(_deps)
    if "Records" in event:
        return on_kinesis(event, engine, logger, memory_guard(_deps, context))
    return on_tick(event, engine, _deps.clock())
