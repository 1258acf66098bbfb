"""The Kinesis edge of detection: decode records, report poison records, process the rest once.

A record is either a batch of canonical alerts written by the API (`{"kind": "alerts", "scope": ...,
"alerts": [...]}`) or a CloudWatch alarm event that EventBridge put on the stream directly. Records
that cannot be decoded are reported as batch-item failures (Lambda retries them, then sends them to
the on-failure destination); the rest of the batch is processed. Each alert carries its record's
origin (shard and partition key, sequence number), so a redelivered record is skipped by the
per-scope watermark the engine saves with the scope state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from .. import names as n
from ..ingest import PayloadError, parse
from ..timeutil import parse_iso
from .engine import BatchResult, DetectionEngine
from .incoming import BadAlertDocument, Incoming

ALERTS_KIND = n.RECORD_ALERT + "s"


class PoisonRecord(ValueError):
    pass


def decode_record(record: dict[str, Any], times: dict[str, datetime] | None = None) -> list[Incoming]:
    """The alerts of one Lambda Kinesis record; PoisonRecord names what is wrong with it."""
    k = record.get("kinesis") if isinstance(record, dict) else None
    if not isinstance(k, dict):
        raise PoisonRecord("record: missing 'kinesis'")
    seq = str(k.get("sequenceNumber", ""))
    if not seq.isdigit():
        raise PoisonRecord(f"record {seq[:60]!r}: kinesis.sequenceNumber is not a number")
    shard = str(record.get("eventID", "shard:")).split(":", 1)[0]
    origin = (f"{shard}|{k.get('partitionKey', '')}", int(seq))
    try:
        doc = orjson.loads(base64.b64decode(k["data"], validate=True))
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise PoisonRecord(f"record {seq}: not base64-encoded JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise PoisonRecord(f"record {seq}: expected a JSON object")
    times = {} if times is None else times
    try:
        if doc.get("kind") == ALERTS_KIND:
            alerts = doc.get("alerts")
            if not isinstance(alerts, list):
                raise BadAlertDocument("alerts: expected a list")
            scope = doc.get("scope") if isinstance(doc.get("scope"), str) else None
            return [Incoming.from_doc(a, scope, origin, times) for a in alerts]
        if doc.get("detail-type") == n.EVENTBRIDGE_DETAIL_TYPE_ALARM:
            arrival = k.get("approximateArrivalTimestamp")
            received = datetime.fromtimestamp(float(arrival), tz=UTC) if arrival else datetime.now(UTC)
            at = parse_iso(doc["time"]) if isinstance(doc.get("time"), str) else received
            return [Incoming.of(a, None, origin) for a in parse("cloudwatch", doc, at)]
    except (PayloadError, BadAlertDocument, ValueError) as exc:
        raise PoisonRecord(f"record {seq}: {exc}"[:500]) from exc
    raise PoisonRecord(f"record {seq}: neither an alert batch nor a CloudWatch alarm event")


def _sequence(record: Any) -> str:
    k = record.get("kinesis") if isinstance(record, dict) else None
    return str(k.get("sequenceNumber", "")) if isinstance(k, dict) else ""


def handle_batch(event: dict[str, Any], engine: DetectionEngine) -> tuple[dict[str, Any], BatchResult]:
    """Returns the Lambda partial-batch response and what the batch did."""
    failures: list[tuple[str, str]] = []
    items: list[Incoming] = []
    seqs: list[str] = []
    times: dict[str, datetime] = {}
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        try:
            items += decode_record(record, times)
            seqs.append(str(record["kinesis"]["sequenceNumber"]))
        except PoisonRecord as exc:
            failures.append((_sequence(record), str(exc)))
    result = BatchResult()
    if items:
        batch_id = hashlib.sha256("|".join(seqs).encode()).hexdigest()[:16]
        result = engine.process(items, batch_id)
    result.poison = [reason for _, reason in failures]
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq, _ in failures]}, result
