"""`incident-commander redrive`: put the detection function's dead-lettered batches back through.

When Lambda gives up on a batch of the alert stream (retries exhausted, record too old) it sends an
on-failure record to the detection failure queue: the shard and the sequence range, not the data
(`KinesisBatchInfo`). Redrive reads that range from the stream (24 h retention) and puts the records
on the stream again, with their partition keys, so detection processes them as it processes any
record: an alert it already placed is counted as a repeat, never placed twice; one it never saw is
placed now. A message is deleted only once every record of its range is back on the stream.

Kept in the queue (and the queue's alarm stays on), with the reason printed:
- records no longer on the stream (past its retention): the data is gone, say so loudly;
- poison records (that no detection run can decode): named with their reason; `--skip-poison`
  puts the others back and drops the message.

Exit status: 0 everything redriven (or nothing to do), 1 some messages kept, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from .. import names as n
from .. import wiring as w

INFO_KEY = "KinesisBatchInfo"


@dataclass
class FailedBatch:
    receipt: str
    shard_id: str
    stream: str
    start: str
    end: str
    size: int
    condition: str

    @classmethod
    def parse(cls, receipt: str, body: str) -> FailedBatch:
        doc = json.loads(body)
        info = doc[INFO_KEY]
        return cls(receipt, info["shardId"], info["streamArn"].rsplit("/", 1)[-1], info["startSequenceNumber"],
                   info["endSequenceNumber"], int(info["batchSize"]),
                   (doc.get("requestContext") or {}).get("condition", ""))


@dataclass
class Report:
    messages: int = 0
    redriven: int = 0  # messages whose records are all back on the stream
    records: int = 0  # records put back
    kept: list[str] = field(default_factory=list)  # why each kept message was kept

    def line(self) -> str:
        return (f"{self.messages} failed batch(es): {self.redriven} redriven ({self.records} records back on the "
                f"stream), {len(self.kept)} kept")


def failed_batches(sqs: Any, queue_url: str, limit: int = 1000) -> list[FailedBatch]:
    """The queue's on-failure records, each hidden for 5 minutes while it is worked on (`release` shows
    one again; a concurrent redrive does not take it)."""
    out: list[FailedBatch] = []
    while len(out) < limit:
        r = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(out)),
                                VisibilityTimeout=300, WaitTimeSeconds=0)
        msgs = r.get("Messages", [])
        if not msgs:
            return out
        out += [FailedBatch.parse(m["ReceiptHandle"], m["Body"]) for m in msgs]
    return out


def release(sqs: Any, queue_url: str, batches: list[FailedBatch]) -> None:
    """Make messages visible again (the queue-depth alarm counts visible messages)."""
    for b in batches:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=b.receipt, VisibilityTimeout=0)


def read_range(kinesis: Any, b: FailedBatch) -> list[dict[str, Any]]:
    """The records of a failed batch, read from the stream (fewer than `size` when trimmed)."""
    try:
        it = kinesis.get_shard_iterator(StreamName=b.stream, ShardId=b.shard_id,
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        StartingSequenceNumber=b.start)["ShardIterator"]
    except kinesis.exceptions.InvalidArgumentException:
        return []  # the start is past the trim horizon
    out: list[dict[str, Any]] = []
    end = int(b.end)
    while it:
        r = kinesis.get_records(ShardIterator=it, Limit=1000)
        for rec in r["Records"]:
            if int(rec["SequenceNumber"]) > end:
                return out
            out.append(rec)
        if not r["Records"] and not r.get("MillisBehindLatest"):
            return out
        it = r.get("NextShardIterator")
    return out


def poison(records: list[dict[str, Any]], shard_id: str) -> dict[str, str]:
    """Sequence number -> reason, for records the detection function can never decode."""
    import base64

    from ..detection.kinesis_batch import PoisonRecord, decode_record

    bad: dict[str, str] = {}
    for rec in records:
        try:
            decode_record({"kinesis": {"sequenceNumber": rec["SequenceNumber"], "partitionKey": rec["PartitionKey"],
                                       "data": base64.b64encode(rec["Data"]).decode()},
                           "eventID": f"{shard_id}:{rec['SequenceNumber']}"})
        except PoisonRecord as exc:
            bad[rec["SequenceNumber"]] = str(exc)
    return bad


def redrive(sqs: Any, kinesis: Any, queue_url: str, writer: Any = None, skip_poison: bool = False,
            dry_run: bool = False, limit: int = 1000) -> Report:
    from ..adapters.kinesis import AlertStreamWriter

    report = Report()
    deleted: set[str] = set()
    batches = failed_batches(sqs, queue_url, limit)
    try:
        for b in batches:
            report.messages += 1
            records = read_range(kinesis, b)
            where = f"{b.shard_id} {b.start}..{b.end} ({b.condition or 'failed'})"
            bad = poison(records, b.shard_id)
            if len(records) < b.size:
                report.kept.append(f"{where}: {b.size - len(records)} of {b.size} records are no longer on the "
                                   "stream (past its retention): their alerts are lost")
            elif bad and not skip_poison:
                report.kept.append(f"{where}: {len(bad)} poison record(s), e.g. {next(iter(bad.values()))}; "
                                   "--skip-poison puts the others back")
            else:
                good = [r for r in records if r["SequenceNumber"] not in bad]
                if not dry_run:
                    if good:
                        stream_writer = writer or AlertStreamWriter(b.stream, kinesis)
                        stream_writer.put([(r["Data"], r["PartitionKey"]) for r in good])
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=b.receipt)
                    deleted.add(b.receipt)
                report.redriven += 1
                report.records += len(good)
    finally:  # kept, dry-run and untouched messages: visible again
        release(sqs, queue_url, [b for b in batches if b.receipt not in deleted])
    return report


# --- the CLI -----------------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    r = sub.add_parser("redrive", help="put the detection function's dead-lettered batches back on the stream",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--stage", default=os.environ.get(n.ENV_STAGE, "dev"), help="resources ic-<stage>-... (default dev)")
    r.add_argument("--region", help="default: the AWS configuration's")
    r.add_argument("--endpoint-url", help="a local endpoint, e.g. the moto server of `serve`")
    r.add_argument("--skip-poison", action="store_true", help="put back the decodable records of a batch that "
                   "holds poison records, and drop its message")
    r.add_argument("--dry-run", action="store_true", help="report what would be redriven; change nothing")
    r.add_argument("--limit", type=int, default=1000, help="failed batches to take in one run")
    r.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    from ..adapters import aws

    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    for var, value in (("AWS_ENDPOINT_URL", args.endpoint_url), ("AWS_DEFAULT_REGION", args.region)):
        if value:
            os.environ[var] = value
    aws.reset_clients()
    sqs = aws.client("sqs")
    queue = w.QUEUES[n.Q_DETECTION_FAILURES].physical_name(args.stage)
    try:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        print(f"error: no queue {queue} (is --stage right?)", file=sys.stderr)
        return 2
    report = redrive(sqs, aws.client("kinesis"), url, skip_poison=args.skip_poison, dry_run=args.dry_run,
                     limit=args.limit)
    print(("(dry run) " if args.dry_run else "") + report.line())
    for why in report.kept:
        print(f"kept: {why}")
    return 1 if report.kept else 0
