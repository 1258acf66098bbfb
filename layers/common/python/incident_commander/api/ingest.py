"""POST /alerts/{source}: parse (400 names the bad field), put on the stream (layout: detection/records.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..detection.engine import correlation_scope
from ..detection.records import encode
from ..ingest import parse
from ..topology import Topology

MAX_BODY_BYTES = 1_000_000


def accept(source: str, body: Any, received_at: datetime, writer: Any, topology: Topology) -> dict[str, Any]:
    alerts = parse(source, body, received_at)
    records = encode(alerts, lambda a: correlation_scope(a, topology))
    if records:
        writer.put(records)
    return {"accepted": len(alerts), "records": len(records), "keys": [a.key for a in alerts][:100]}
