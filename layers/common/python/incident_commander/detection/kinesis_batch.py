"""The Kinesis edge of detection: decode records, report poison records, process the rest once.

A record is either a batch of canonical alerts written by the API (`{"kind": "alerts", ...}`) or a
CloudWatch alarm event that EventBridge put on the stream directly. Records that cannot be decoded
are reported as batch-item failures (Lambda retries them, then sends them to the on-failure
destination). A per-shard checkpoint makes a redelivered record a no-op.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from .. import names as n
from ..ingest import PayloadError, parse
from ..models import Alert
from ..timeutil import parse_iso
from .engine import BatchResult, DetectionEngine
from .ports import Checkpoints


class PoisonRecord(ValueError):
    pass


@dataclass
class Decoded:
    seq: str
    shard: str
    alerts: list[Alert] = field(default_factory=list)


def decode_record(record: dict[str, Any]) -> Decoded:
    k = record.get("kinesis") or {}
    seq = str(k.get("sequenceNumber", ""))
    shard = str(record.get("eventID", "shard:")).split(":", 1)[0]
    try:
        doc = orjson.loads(base64.b64decode(k["data"], validate=True))
    except (KeyError, ValueError, TypeError) as exc:
        raise PoisonRecord(f"record {seq}: not base64-encoded JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise PoisonRecord(f"record {seq}: expected a JSON object")
    arrival = k.get("approximateArrivalTimestamp")
    received = datetime.fromtimestamp(float(arrival), tz=UTC) if arrival else None
    try:
        if doc.get("kind") == n.RECORD_ALERT + "s":
            alerts = [Alert.model_validate(a) for a in doc.get("alerts") or []]
        elif doc.get("detail-type") == n.EVENTBRIDGE_DETAIL_TYPE_ALARM:
            at = parse_iso(doc["time"]) if isinstance(doc.get("time"), str) else received
            alerts = parse("cloudwatch", doc, at or datetime.now(UTC))
        else:
            raise PoisonRecord(f"record {seq}: neither an alert batch nor a CloudWatch alarm event")
    except (PayloadError, ValueError) as exc:
        if isinstance(exc, PoisonRecord):
            raise
        raise PoisonRecord(f"record {seq}: {exc}"[:500]) from exc
    return Decoded(seq=seq, shard=shard, alerts=alerts)


def handle_batch(event: dict[str, Any], engine: DetectionEngine, checkpoints: Checkpoints) -> tuple[dict[str, Any], BatchResult]:
    """Returns the Lambda partial-batch response and what the batch did."""
    failures: list[dict[str, str]] = []
    good: list[Decoded] = []
    for record in event.get("Records", []):
        try:
            good.append(decode_record(record))
        except PoisonRecord as exc:
            seq = str((record.get("kinesis") or {}).get("sequenceNumber", ""))
            failures.append({"itemIdentifier": seq, "reason": str(exc)})
    result = BatchResult()
    by_shard: dict[str, list[Decoded]] = {}
    for d in good:
        by_shard.setdefault(d.shard, []).append(d)
    for shard, decoded in by_shard.items():
        done = checkpoints.get(shard)
        fresh = [d for d in decoded if done is None or int(d.seq) > int(done)]
        if not fresh:
            continue
        batch_id = hashlib.sha256(f"{shard}|{fresh[0].seq}|{fresh[-1].seq}".encode()).hexdigest()[:16]
        r = engine.process([a for d in fresh for a in d.alerts], batch_id)
        checkpoints.put(shard, fresh[-1].seq)
        _merge(result, r)
    result.poison = [f["reason"] for f in failures]
    return {"batchItemFailures": [{"itemIdentifier": f["itemIdentifier"]} for f in failures]}, result


def _merge(into: BatchResult, r: BatchResult) -> None:
    into.alerts_in += r.alerts_in
    into.incidents_opened += r.incidents_opened
    into.attached += r.attached
    into.updated += r.updated
    into.duplicates += r.duplicates
    into.noise += r.noise
    into.dispatched += r.dispatched
