"""`incident-commander redrive` against moto's SQS and Kinesis (in-process): what is put back, what is
kept and why, and that a dry run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from incident_commander.detection.records import encode
from incident_commander.ingest import parse
from incident_commander.local.redrive import redrive

from tests.helpers import am_alert, am_body

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def aws(monkeypatch):
    from moto import mock_aws

    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session's local stack may be up: stay in-process
    with mock_aws():
        sqs, kinesis = boto3.client("sqs"), boto3.client("kinesis")
        kinesis.create_stream(StreamName="alerts", ShardCount=1)
        url = sqs.create_queue(QueueName="detection-failures")["QueueUrl"]
        yield sqs, kinesis, url


def dead_letter(sqs, kinesis, url, datas: list[bytes]) -> list[str]:
    """Put records on the stream and the on-failure record Lambda would write for them."""
    seqs = [kinesis.put_record(StreamName="alerts", Data=d, PartitionKey="p")["SequenceNumber"] for d in datas]
    shard = kinesis.describe_stream(StreamName="alerts")["StreamDescription"]["Shards"][0]["ShardId"]
    arn = kinesis.describe_stream(StreamName="alerts")["StreamDescription"]["StreamARN"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "requestContext": {"condition": "RetryAttemptsExhausted"},
        "KinesisBatchInfo": {"shardId": shard, "startSequenceNumber": seqs[0], "endSequenceNumber": seqs[-1],
                             "batchSize": len(seqs), "streamArn": arn}}))
    return seqs


def good_record() -> bytes:
    alerts = parse("alertmanager", am_body(am_alert("HighRequestErrorRate", "api", AT)), AT)
    ((data, _),) = encode(alerts, lambda a: "cluster:c1")
    return data


def on_stream(kinesis) -> list[bytes]:
    shard = kinesis.describe_stream(StreamName="alerts")["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="alerts", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]


def depth(sqs, url) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def test_a_failed_batch_goes_back_on_the_stream_and_leaves_the_queue(aws):
    sqs, kinesis, url = aws
    data = [good_record(), good_record()]
    dead_letter(sqs, kinesis, url, data)
    dry = redrive(sqs, kinesis, url, dry_run=True)
    assert (dry.messages, dry.redriven, dry.records) == (1, 1, 2)
    assert depth(sqs, url) == 1 and on_stream(kinesis) == data  # a dry run changed nothing
    report = redrive(sqs, kinesis, url)
    assert (report.redriven, report.records, report.kept) == (1, 2, [])
    assert depth(sqs, url) == 0 and on_stream(kinesis) == data + data


def test_a_batch_with_a_poison_record_is_kept_and_named_unless_skipped(aws):
    sqs, kinesis, url = aws
    good = good_record()
    dead_letter(sqs, kinesis, url, [good, b"\x00not an alert record"])
    report = redrive(sqs, kinesis, url)
    assert report.redriven == 0 and len(report.kept) == 1 and "poison" in report.kept[0]
    assert depth(sqs, url) == 1  # still there, visible again: the queue's alarm stays on
    report = redrive(sqs, kinesis, url, skip_poison=True)
    assert (report.redriven, report.records) == (1, 1)
    assert depth(sqs, url) == 0 and on_stream(kinesis)[-1] == good
