"""Archiver (scheduled): events of incidents resolved longer than IC_RETENTION_DAYS ago -> S3, then TTL.

The age is measured at the schedule's `time` (the EventBridge scheduled event's), else now.
"""

from datetime import timedelta

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.config import ConfigError
from incident_commander.runtime import Deps
from incident_commander.store.retention import archive_closed
from incident_commander.timeutil import parse_iso

logger = Logger()
_deps: Deps | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _deps
    _deps = _deps or Deps.from_env()
    if _deps.archive is None:
        raise ConfigError(f"{names.ENV_ARCHIVE_BUCKET}: not set; the archiver has nowhere to archive to")
    now = parse_iso(event["time"]) if isinstance(event.get("time"), str) else _deps.clock()
    outcomes = archive_closed(_deps.events, _deps.archive, now, timedelta(days=_deps.settings.store.retention_days))
    skipped = [o.model_dump() for o in outcomes if o.result == "skipped"]
    if skipped:
        logger.warning("incidents not archived", extra={"skipped": skipped})
    return {"archived": [o.incident_id for o in outcomes if o.result == "archived"], "skipped": skipped}
