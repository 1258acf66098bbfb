"""The Kinesis writer (botocore Stubber): only failed records are sent again, limits are respected,
and what never makes it raises so the API answers 503."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber
from incident_commander.adapters.kinesis import MAX_RECORDS_PER_CALL, AlertStreamWriter, StreamWriteError


def writer(attempts: int = 4):
    client = boto3.client("kinesis", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    sleeps: list[float] = []
    return AlertStreamWriter("ic-test-alerts", client=client, attempts=attempts, sleep=sleeps.append), \
        Stubber(client), sleeps


def ok(n: int) -> dict:
    return {"Records": [{"SequenceNumber": str(i), "ShardId": "shardId-0"} for i in range(n)]}


def test_only_the_failed_records_are_retried():
    w, stub, sleeps = writer()
    records = [(b"a", "scope-a"), (b"b", "scope-b"), (b"c", "scope-c")]
    stub.add_response("put_records", {"FailedRecordCount": 2, "Records": [
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
        {"SequenceNumber": "1", "ShardId": "shardId-0"},
        {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]},
        {"StreamName": "ic-test-alerts", "Records": [{"Data": b"a", "PartitionKey": "scope-a"},
                                                     {"Data": b"b", "PartitionKey": "scope-b"},
                                                     {"Data": b"c", "PartitionKey": "scope-c"}]})
    stub.add_response("put_records", ok(2), {"StreamName": "ic-test-alerts",
                                             "Records": [{"Data": b"a", "PartitionKey": "scope-a"},
                                                         {"Data": b"c", "PartitionKey": "scope-c"}]})
    with stub:
        assert w.put(records) == 3
        stub.assert_no_pending_responses()
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0


def test_records_that_never_make_it_raise_with_the_error_code():
    w, stub, sleeps = writer(attempts=2)
    fail = {"FailedRecordCount": 1, "Records": [{"ErrorCode": "ProvisionedThroughputExceededException",
                                                 "ErrorMessage": "slow down"}]}
    stub.add_response("put_records", fail, {"StreamName": ANY, "Records": ANY})
    stub.add_response("put_records", fail, {"StreamName": ANY, "Records": ANY})
    with stub, pytest.raises(StreamWriteError, match="1 record.*ProvisionedThroughputExceeded") as err:
        w.put([(b"a", "k")])
    assert err.value.failed == 1 and len(sleeps) == 1  # no sleep after the last attempt


def test_calls_respect_the_record_count_and_size_limits():
    w, stub, _ = writer()
    many = [(b"x", f"k{i}") for i in range(MAX_RECORDS_PER_CALL + 1)]
    stub.add_response("put_records", ok(MAX_RECORDS_PER_CALL), {"StreamName": ANY, "Records": ANY})
    stub.add_response("put_records", ok(1), {"StreamName": ANY, "Records": [{"Data": b"x", "PartitionKey": "k500"}]})
    big = [(b"y" * 900_000, f"big{i}") for i in range(6)]  # 5.4 MB: two calls
    stub.add_response("put_records", ok(5), {"StreamName": ANY, "Records": ANY})
    stub.add_response("put_records", ok(1), {"StreamName": ANY, "Records": [{"Data": b"y" * 900_000,
                                                                             "PartitionKey": "big5"}]})
    with stub:
        assert w.put(many) == MAX_RECORDS_PER_CALL + 1
        assert w.put(big) == 6
        stub.assert_no_pending_responses()


def test_a_long_partition_key_is_cut_to_kinesis_limit():
    w, stub, _ = writer()
    stub.add_response("put_records", ok(1), {"StreamName": ANY, "Records": [{"Data": b"a", "PartitionKey": "p" * 256}]})
    with stub:
        w.put([(b"a", "p" * 400)])
