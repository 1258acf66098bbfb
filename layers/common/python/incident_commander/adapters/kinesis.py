"""Kinesis adapter: put records in batches, retrying only the records that failed."""

from __future__ import annotations

import time
from typing import Any

from . import aws

MAX_RECORDS_PER_CALL = 500


class StreamWriteError(RuntimeError):
    def __init__(self, failed: int, code: str | None):
        super().__init__(f"{failed} record(s) not accepted by the stream ({code})")
        self.failed = failed


class AlertStreamWriter:
    def __init__(self, stream_name: str, client: Any = None, attempts: int = 4):
        self.stream = stream_name
        self.kinesis = client or aws.client("kinesis")
        self.attempts = attempts

    def put(self, records: list[tuple[bytes, str]]) -> int:
        """Write (data, partition key) records; returns how many were written. Raises when some never
        made it after the retries, so the caller can refuse the delivery and the sender retries."""
        for i in range(0, len(records), MAX_RECORDS_PER_CALL):
            todo = [{"Data": d, "PartitionKey": k[:256]} for d, k in records[i:i + MAX_RECORDS_PER_CALL]]
            code = None
            for attempt in range(self.attempts):
                r = self.kinesis.put_records(StreamName=self.stream, Records=todo)
                if not r.get("FailedRecordCount"):
                    todo = []
                    break
                failed = [(rec, res) for rec, res in zip(todo, r["Records"], strict=True) if "ErrorCode" in res]
                code = failed[0][1].get("ErrorCode")
                todo = [rec for rec, _ in failed]
                time.sleep(min(1.0, 0.05 * 2 ** attempt))
            if todo:
                raise StreamWriteError(len(todo), code)
        return len(records)
