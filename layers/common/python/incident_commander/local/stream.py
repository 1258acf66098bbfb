"""The Kinesis and DynamoDB Streams event source mappings, run locally with the settings `wiring`
gives the real ones.

moto's own mapping calls a function per record without batch semantics, so this pump polls the
streams and delivers batches the way Lambda does: batch size, ReportBatchItemFailures (retry from
the lowest failed sequence number), retry cap, bisect on function error, maximum record age, and
an on-failure record in the SQS destination (the same `KinesisBatchInfo` / `DDBStreamBatchInfo`
document AWS sends). For table streams it also applies the mapping's event filter (`event_names`):
filtered-out records are consumed without invoking the function, as Lambda does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import wiring as w

if TYPE_CHECKING:
    from .stack import LocalStack


class KinesisPump:
    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.kinesis = stack.client("kinesis")
        self.ddb_streams = stack.client("dynamodbstreams")
        self.sqs = stack.client("sqs")
        self._iterators: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.sent_to_failure_destination = 0

    def _stream_arn(self, stream: str) -> str:
        return self.kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]

    def drain(self) -> int:
        """Deliver every record now on the streams; returns how many records were delivered."""
        total = 0
        with self._lock:
            for spec in w.STREAM_CONSUMERS:
                stream = w.STREAMS[spec.stream].physical_name(self.stack.stage)
                shards = self.kinesis.list_shards(StreamName=stream)["Shards"]
                for shard in shards:
                    total += self._drain_shard(spec, stream, shard["ShardId"])
            for tspec in w.TABLE_STREAM_CONSUMERS:
                total += self._drain_table(tspec)
        self.delivered += total
        return total

    # --- DynamoDB Streams -----------------------------------------------------------------------------
    def _drain_table(self, spec: w.TableStreamConsumerSpec) -> int:
        table = w.TABLES[spec.table].physical_name(self.stack.stage)
        arn = self.stack.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        count = 0
        for shard in self.ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            key = (arn, shard["ShardId"])
            it = self._iterators.get(key) or self.ddb_streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=spec.starting_position)["ShardIterator"]
            while True:
                r = self.ddb_streams.get_records(ShardIterator=it, Limit=spec.batch_size)
                it = r.get("NextShardIterator") or it
                records = r["Records"]
                if not records:
                    break
                wanted = [rec for rec in records if rec["eventName"] in spec.event_names]
                if wanted:
                    self._deliver_table(spec, arn, shard["ShardId"], wanted)
                count += len(wanted)
            self._iterators[key] = it
        return count

    def _deliver_table(self, spec: w.TableStreamConsumerSpec, arn: str, shard_id: str,
                       records: list[dict[str, Any]]) -> None:
        def event(batch: list[dict[str, Any]]) -> dict[str, Any]:
            return {"Records": [{**r, "dynamodb": {**{k: _on_the_wire(v) for k, v in r["dynamodb"].items()},
                                                   "ApproximateCreationDateTime":
                                                   _epoch(r["dynamodb"]["ApproximateCreationDateTime"])},
                                 "eventSourceARN": arn} for r in batch]}

        def seq(r: dict[str, Any]) -> str:
            return r["dynamodb"]["SequenceNumber"]

        def give_up(batch: list[dict[str, Any]], condition: str, invokes: int) -> None:
            first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
            self._failure_record(spec.function, spec.on_failure_queue, condition, invokes, "DDBStreamBatchInfo", {
                "shardId": shard_id, "streamArn": arn, "batchSize": len(batch),
                "startSequenceNumber": first["SequenceNumber"], "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"])}, len(batch))

        now = datetime.now(UTC)
        fresh = [r for r in records if (now - _dt(r["dynamodb"]["ApproximateCreationDateTime"])).total_seconds()
                 <= spec.max_record_age_s]
        if len(fresh) < len(records):
            give_up(records[:len(records) - len(fresh)], "RecordAgeExceeded", 0)
        self._run_batches(spec, fresh, event, seq, give_up)

    def _drain_shard(self, spec: w.StreamConsumerSpec, stream: str, shard_id: str) -> int:
        key = (stream, shard_id)
        it = self._iterators.get(key) or self.kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard_id, ShardIteratorType=spec.starting_position)["ShardIterator"]
        count = 0
        while True:
            r = self.kinesis.get_records(ShardIterator=it, Limit=spec.batch_size)
            it = r["NextShardIterator"]
            records = r["Records"]
            if not records:
                break
            self._deliver(spec, stream, shard_id, records)
            count += len(records)
        self._iterators[key] = it
        return count

    def _event(self, stream_arn: str, shard_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [{
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": rec["PartitionKey"],
                        "sequenceNumber": rec["SequenceNumber"],
                        "data": base64.b64encode(rec["Data"]).decode(),
                        "approximateArrivalTimestamp": rec["ApproximateArrivalTimestamp"].timestamp()},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventName": "aws:kinesis:record",
            "eventID": f"{shard_id}:{rec['SequenceNumber']}", "awsRegion": "us-east-1",
            "eventSourceARN": stream_arn, "invokeIdentityArn": self.stack.role_arn} for rec in records]}

    def _deliver(self, spec: w.StreamConsumerSpec, stream: str, shard_id: str, records: list[dict[str, Any]]) -> None:
        stream_arn = self._stream_arn(stream)

        def give_up(batch: list[dict[str, Any]], condition: str, invokes: int) -> None:
            self._failure_record(spec.function, spec.on_failure_queue, condition, invokes, "KinesisBatchInfo", {
                "shardId": shard_id, "streamArn": stream_arn, "batchSize": len(batch),
                "startSequenceNumber": batch[0]["SequenceNumber"], "endSequenceNumber": batch[-1]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": batch[0]["ApproximateArrivalTimestamp"].isoformat(),
                "approximateArrivalOfLastRecord": batch[-1]["ApproximateArrivalTimestamp"].isoformat()}, len(batch))

        now = datetime.now(UTC)
        fresh = [r for r in records if (now - r["ApproximateArrivalTimestamp"]).total_seconds() <= spec.max_record_age_s]
        if len(fresh) < len(records):
            give_up(records[:len(records) - len(fresh)], "RecordAgeExceeded", 0)
        self._run_batches(spec, fresh, lambda batch: self._event(stream_arn, shard_id, batch),
                          lambda r: r["SequenceNumber"], give_up)

    def _run_batches(self, spec: Any, records: list[dict[str, Any]], event: Callable[[list[dict[str, Any]]], dict],
                     seq: Callable[[dict[str, Any]], str], give_up: Callable[[list[dict[str, Any]], str, int], None]
                     ) -> None:
        """Lambda's retry rules for one polled batch: partial failures, retry cap, bisect, give up."""
        queue: list[list[dict[str, Any]]] = [records] if records else []
        while queue:
            batch = queue.pop(0)
            invokes = 0
            while batch:
                result, error = self.stack.invoke(spec.function, event(batch))
                invokes += 1
                if error is None:
                    failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []}
                    if not failed:
                        break
                    # retry from the lowest failed record; unknown identifiers fail the whole batch
                    idx = [i for i, r in enumerate(batch) if seq(r) in failed]
                    batch = batch[min(idx):] if idx else batch
                if invokes > spec.retry_attempts:
                    if error is not None and spec.bisect_on_error and len(batch) > 1:
                        mid = len(batch) // 2
                        queue[:0] = [batch[:mid], batch[mid:]]
                    else:
                        give_up(batch, "RetryAttemptsExhausted", invokes)
                    break

    def _failure_record(self, function: str, queue: str, condition: str, invokes: int, info_key: str,
                        info: dict[str, Any], records: int) -> None:
        doc = {"requestContext": {"requestId": str(uuid.uuid4()), "condition": condition,
                                  "functionArn": self.stack.arns[function], "approximateInvokeCount": invokes},
               "version": "1.0", "timestamp": datetime.now(UTC).isoformat(), info_key: info}
        self.sqs.send_message(QueueUrl=self.stack.queue_urls[queue], MessageBody=json.dumps(doc))
        self.sent_to_failure_destination += records

    # --- background mode (serve, demo) ----------------------------------------------------------
    def start_background(self, interval: float = 0.25) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.drain()
                except Exception:  # noqa: BLE001 - keep polling; errors surface in the timeline/DLQ
                    time.sleep(interval)

        self._thread = threading.Thread(target=loop, name="kinesis-pump", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)


def _epoch(value: Any) -> float:
    return _dt(value).timestamp()


def _iso(value: Any) -> str:
    return _dt(value).isoformat()


def _on_the_wire(value: Any) -> Any:
    """A stream record's attribute values as Lambda's JSON event carries them: binary as base64."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _on_the_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_on_the_wire(v) for v in value]
    return value
