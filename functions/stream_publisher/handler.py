"""Stream publisher: each new event of the events table (its DynamoDB stream) -> the incidents bus.

Only INSERT records are events (TTL updates and TTL deletions are not). A record that fails to
publish is reported by its sequence number, so Lambda retries from it (ReportBatchItemFailures).
"""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.adapters.dynamodb import event_item
from incident_commander.adapters.eventbridge import EventBridgePublisher
from incident_commander.store.changes import publish

logger = Logger()
_publisher: EventBridgePublisher | None = None


@logger.inject_lambda_context
def handler(event, context):
    global _publisher
    _publisher = _publisher or EventBridgePublisher(os.environ[names.ENV_EVENT_BUS])
    changes = [(r["dynamodb"]["SequenceNumber"], event_item(r["dynamodb"]["NewImage"]))
               for r in event["Records"] if r["eventName"] == "INSERT"]
    failed = publish(changes, _publisher)
    if failed:
        logger.warning("events not published; Lambda retries from the first", extra={"failed": failed})
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failed]}
