"""The change stream: every new event, published on the incidents EventBridge bus for other agents.

The events table's DynamoDB stream (INSERT records only: the archiver's TTL updates and TTL
deletions are not new events) invokes the publisher, which puts one bus event per incident event:

    source       "incident-commander"
    detail-type  the event type, e.g. "incident.resolved", "escalation.sent", "decision.made"
    time         when the event was recorded
    detail       {"incident_id", "seq", "type", "schema_version", "at", "recorded_at", "actor",
                  "data", "idempotency_key", "hash", "prev_hash", "detail_version": 1}

`data` is the event's data in the shape of its `schema_version` (models/events.py). A detail that
would pass EventBridge's 256 KB limit carries `"data": null, "data_omitted": true`; read the event
from `GET /incidents/{id}/timeline`. Delivery is at least once and unordered: a subscriber keys on
(incident_id, seq) to drop repeats and orders by seq.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from .. import names as n

DETAIL_VERSION = 1
MAX_DETAIL_BYTES = 240_000  # EventBridge takes 256 KB per entry, source and detail-type included


class BusPublisher(Protocol):
    def put(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Put the entries; return the indexes of those that failed."""


def bus_entry(item: dict[str, Any]) -> dict[str, Any]:
    """The bus event for one stored event item (as the stream's NewImage holds it)."""
    detail = {k: item.get(k) for k in ("incident_id", "seq", "type", "schema_version", "at", "recorded_at",
                                       "actor", "idempotency_key", "hash", "prev_hash")}
    detail["detail_version"] = DETAIL_VERSION
    detail["data"] = json.loads(item["data"])
    body = json.dumps(detail, separators=(",", ":"), ensure_ascii=False)
    if len(body.encode("utf-8")) > MAX_DETAIL_BYTES:
        detail["data"], detail["data_omitted"] = None, True
        body = json.dumps(detail, separators=(",", ":"), ensure_ascii=False)
    return {"Source": n.APP, "DetailType": item["type"], "Detail": body, "Time": item["recorded_at"]}


def publish(changes: Sequence[tuple[str, dict[str, Any]]], publisher: BusPublisher) -> list[str]:
    """Publish (record id, event item) pairs; return the ids of the records that failed."""
    if not changes:
        return []
    failed = publisher.put([bus_entry(item) for _, item in changes])
    return [changes[i][0] for i in sorted(failed)]
