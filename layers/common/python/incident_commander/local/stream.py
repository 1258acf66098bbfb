"""The Kinesis event source mapping, run locally with the settings `wiring` gives the real one.

moto's own mapping calls a function per record without batch semantics, so this pump polls the
stream and delivers batches the way Lambda does: batch size, ReportBatchItemFailures (retry from
the lowest failed sequence number), retry cap, bisect on function error, maximum record age, and
an on-failure record in the SQS destination (the same `KinesisBatchInfo` document AWS sends).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import wiring as w

if TYPE_CHECKING:
    from .stack import LocalStack


class KinesisPump:
    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.kinesis = stack.client("kinesis")
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
        self.delivered += total
        return total

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
        now = datetime.now(UTC)
        fresh = [r for r in records if (now - r["ApproximateArrivalTimestamp"]).total_seconds() <= spec.max_record_age_s]
        if len(fresh) < len(records):
            self._to_failure_destination(spec, stream_arn, shard_id, records[:len(records) - len(fresh)],
                                         "RecordAgeExceeded", 0)
        queue: list[list[dict[str, Any]]] = [fresh] if fresh else []
        while queue:
            batch = queue.pop(0)
            invokes = 0
            while batch:
                result, error = self.stack.invoke(spec.function, self._event(stream_arn, shard_id, batch))
                invokes += 1
                if error is None:
                    failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []}
                    if not failed:
                        break
                    # retry from the lowest failed record; unknown identifiers fail the whole batch
                    idx = [i for i, r in enumerate(batch) if r["SequenceNumber"] in failed]
                    batch = batch[min(idx):] if idx else batch
                if invokes > spec.retry_attempts:
                    if error is not None and spec.bisect_on_error and len(batch) > 1:
                        mid = len(batch) // 2
                        queue[:0] = [batch[:mid], batch[mid:]]
                    else:
                        self._to_failure_destination(spec, stream_arn, shard_id, batch, "RetryAttemptsExhausted",
                                                     invokes)
                    break

    def _to_failure_destination(self, spec: w.StreamConsumerSpec, stream_arn: str, shard_id: str,
                                batch: list[dict[str, Any]], condition: str, invokes: int) -> None:
        doc = {"requestContext": {"requestId": str(uuid.uuid4()), "condition": condition,
                                  "functionArn": self.stack.arns[spec.function], "approximateInvokeCount": invokes},
               "version": "1.0", "timestamp": datetime.now(UTC).isoformat(),
               "KinesisBatchInfo": {"shardId": shard_id, "streamArn": stream_arn, "batchSize": len(batch),
                                    "startSequenceNumber": batch[0]["SequenceNumber"],
                                    "endSequenceNumber": batch[-1]["SequenceNumber"],
                                    "approximateArrivalOfFirstRecord": batch[0]["ApproximateArrivalTimestamp"].isoformat(),
                                    "approximateArrivalOfLastRecord": batch[-1]["ApproximateArrivalTimestamp"].isoformat()}}
        self.sqs.send_message(QueueUrl=self.stack.queue_urls[spec.on_failure_queue], MessageBody=json.dumps(doc))
        self.sent_to_failure_destination += len(batch)

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
