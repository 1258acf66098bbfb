"""The Kinesis edge of detection: decode records, report poison records, process the rest once.

A record is either a batch of canonical alerts written by the API (packed: `records.py`; or the
plain `{"kind": "alerts", "alerts": [...]}`) or a CloudWatch alarm event that EventBridge put on
the stream directly. Records
that cannot be decoded are reported as batch-item failures (Lambda retries them, then sends them to
the on-failure destination); the rest of the batch is processed. Each alert carries its record's
origin (shard and partition key, sequence number), so a redelivered record is skipped by the
per-scope watermark the engine saves with the scope state.
"""

from __future__ import annotations

import gc
import hashlib
from datetime import UTC, datetime
from typing import Any

from .. import names as n
from ..ingest import PayloadError, parse
from ..timeutil import parse_iso
from . import records
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
        rec = records.decode(k.get("data"))
    except records.RecordError as exc:
        raise PoisonRecord(f"record {seq}: {exc}") from exc
    times = {} if times is None else times
    try:
        if isinstance(rec, records.Packed):
            return _packed(rec, origin, times)
        if not isinstance(rec, dict):
            raise PoisonRecord(f"record {seq}: expected a JSON object")
        if rec.get("kind") == ALERTS_KIND:
            alerts = rec.get("alerts")
            if not isinstance(alerts, list):
                raise BadAlertDocument("alerts: expected a list")
            scope = rec.get("scope") if isinstance(rec.get("scope"), str) else None
            return [Incoming.from_doc(a, scope, origin, times) for a in alerts]
        if rec.get("detail-type") == n.EVENTBRIDGE_DETAIL_TYPE_ALARM:
            arrival = k.get("approximateArrivalTimestamp")
            received = datetime.fromtimestamp(float(arrival), tz=UTC) if arrival else datetime.now(UTC)
            at = parse_iso(rec["time"]) if isinstance(rec.get("time"), str) else received
            return [Incoming.of(a, None, origin) for a in parse("cloudwatch", rec, at)]
    except (PayloadError, BadAlertDocument, ValueError) as exc:
        if isinstance(exc, PoisonRecord):
            raise
        raise PoisonRecord(f"record {seq}: {exc}"[:500]) from exc
    raise PoisonRecord(f"record {seq}: neither an alert batch nor a CloudWatch alarm event")


def _packed(rec: records.Packed, origin: tuple[str, int], times: dict[str, datetime]) -> list[Incoming]:
    h = rec.header
    scope, source, received, index = h.get("scope"), h.get("source"), h.get("received_at"), h.get("alerts")
    if not isinstance(scope, str) or not scope or not isinstance(source, str) or not source:
        raise BadAlertDocument("header: scope and source must be non-empty strings")
    if not isinstance(index, list):
        raise BadAlertDocument("header.alerts: expected a list")
    received_at = _received(received, times)
    return [Incoming.from_index(e, i, source, received_at, scope, origin, rec) for i, e in enumerate(index)]


def _received(value: Any, times: dict[str, datetime]) -> datetime:
    if not isinstance(value, str):
        raise BadAlertDocument("header.received_at: expected an ISO 8601 string")
    t = times.get(value)
    if t is None:
        try:
            t = times[value] = parse_iso(value)
        except ValueError as exc:
            raise BadAlertDocument("header.received_at: not an ISO 8601 time") from exc
    return t


def _sequence(record: Any) -> str:
    k = record.get("kinesis") if isinstance(record, dict) else None
    return str(k.get("sequenceNumber", "")) if isinstance(k, dict) else ""


def handle_batch(event: dict[str, Any], engine: DetectionEngine) -> tuple[dict[str, Any], BatchResult]:
    """Returns the Lambda partial-batch response and what the batch did."""
    failures: list[tuple[str, str]] = []
    groups: list[list[Incoming]] = []
    seqs: list[str] = []
    times: dict[str, datetime] = {}
    result = BatchResult()
    records_in = event.get("Records") if isinstance(event, dict) else None
    collecting = gc.isenabled()
    gc.disable()  # a batch allocates many short-lived, acyclic objects: collect once, after it
    try:
        for record in records_in if isinstance(records_in, list) else []:
            try:
                groups.append(decode_record(record, times))
                seqs.append(str(record["kinesis"]["sequenceNumber"]))
            except PoisonRecord as exc:
                failures.append((_sequence(record), str(exc)))
        if any(groups):
            result = engine.process_groups(groups, hashlib.sha256("|".join(seqs).encode()).hexdigest()[:16])
    finally:
        if collecting:
            gc.enable()
    result.poison = [reason for _, reason in failures]
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq, _ in failures]}, result
