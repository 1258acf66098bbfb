"""EventBridge: putting events on a bus, in the request sizes PutEvents accepts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import aws

MAX_ENTRIES = 10  # PutEvents: at most 10 entries and 256 KB per request
MAX_REQUEST_BYTES = 256_000


class EventBridgePublisher:
    def __init__(self, bus: str, client: Any = None):
        self.bus = bus
        self.events = client or aws.client("events")

    def put(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        """Put every entry on the bus; return the indexes of the entries that failed."""
        failed: list[int] = []
        for chunk in self._requests(entries):
            batch = [{**entries[i], "EventBusName": self.bus, "Time": _time(entries[i].get("Time"))} for i in chunk]
            r = self.events.put_events(Entries=batch)
            if r.get("FailedEntryCount"):
                failed += [i for i, res in zip(chunk, r["Entries"], strict=False) if res.get("ErrorCode")]
        return failed

    @staticmethod
    def _requests(entries: Sequence[dict[str, Any]]) -> list[list[int]]:
        out: list[list[int]] = [[]]
        size = 0
        for i, e in enumerate(entries):
            n = len(e["Detail"].encode()) + len(e["DetailType"]) + len(e["Source"]) + 64
            if out[-1] and (len(out[-1]) == MAX_ENTRIES or size + n > MAX_REQUEST_BYTES):
                out.append([])
                size = 0
            out[-1].append(i)
            size += n
        return [c for c in out if c]


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
