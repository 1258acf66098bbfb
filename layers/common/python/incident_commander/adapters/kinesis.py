"""Kinesis adapter: put records in batches, retrying only the records that failed.

PutRecords succeeds as a call even when some records were refused (throttled shard, internal
failure): those come back with an ErrorCode and botocore's own retries never see them. They are
sent again, alone, with a jittered backoff; what still fails raises StreamWriteError so the API
can answer 503 and the sender retries (detection deduplicates what already arrived).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from . import aws

_JITTER = random.Random()  # its own generator: background retries leave the global one alone

MAX_RECORDS_PER_CALL = 500  # PutRecords limits: 500 records and 5 MiB per call
MAX_BYTES_PER_CALL = 5 * 1024 * 1024


class StreamWriteError(RuntimeError):
    def __init__(self, failed: int, code: str | None):
        super().__init__(f"{failed} record(s) not accepted by the stream ({code})")
        self.failed = failed
        self.code = code


def _calls(records: list[tuple[bytes, str]]) -> list[list[dict[str, Any]]]:
    """Records grouped into PutRecords calls within both limits."""
    calls: list[list[dict[str, Any]]] = [[]]
    size = 0
    for data, key in records:
        entry = {"Data": data, "PartitionKey": key[:256]}
        n = len(data) + len(entry["PartitionKey"].encode())
        if calls[-1] and (len(calls[-1]) >= MAX_RECORDS_PER_CALL or size + n > MAX_BYTES_PER_CALL):
            calls.append([])
            size = 0
        calls[-1].append(entry)
        size += n
    return [c for c in calls if c]


class AlertStreamWriter:
    def __init__(self, stream_name: str, client: Any = None, attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep):
        self.stream = stream_name
        self.kinesis = client or aws.client("kinesis")
        self.attempts = attempts
        self.sleep = sleep

    def put(self, records: list[tuple[bytes, str]]) -> int:
        """Write (data, partition key) records; returns how many were written. Raises StreamWriteError
        when some never made it after the retries."""
        for todo in _calls(records):
            code = None
            for attempt in range(self.attempts):
                r = self.kinesis.put_records(StreamName=self.stream, Records=todo)
                if not r.get("FailedRecordCount"):
                    todo = []
                    break
                failed = [(rec, res) for rec, res in zip(todo, r["Records"], strict=True) if "ErrorCode" in res]
                code = failed[0][1].get("ErrorCode")
                todo = [rec for rec, _ in failed]
                if attempt < self.attempts - 1:
                    self.sleep(min(1.0, 0.05 * 2 ** attempt) * (0.5 + _JITTER.random() / 2))
            if todo:
                raise StreamWriteError(len(todo), code)
        return len(records)
