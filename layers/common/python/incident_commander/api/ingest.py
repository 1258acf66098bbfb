"""POST /alerts/{source}: authenticate, parse (400 names the bad field), put on the stream."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from .. import names as n
from ..detection.engine import correlation_scope
from ..ingest import parse
from ..models import Alert
from ..topology import Topology

MAX_BODY_BYTES = 1_000_000
MAX_RECORD_BYTES = 900_000  # Kinesis accepts 1 MiB per record


def to_records(alerts: list[Alert], scope_of: Callable[[Alert], str] = lambda a: a.scope) -> list[tuple[bytes, str]]:
    """Kinesis records (data, partition key): alerts of one correlation scope stay on one shard, in order."""
    out: list[tuple[bytes, str]] = []
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        by_scope.setdefault(scope_of(a), []).append(a.model_dump(mode="json"))
    for scope, docs in by_scope.items():
        chunk: list[dict[str, Any]] = []
        size = 0
        for d in docs:
            encoded = len(orjson.dumps(d))
            if chunk and size + encoded > MAX_RECORD_BYTES:
                out.append((orjson.dumps({"kind": n.RECORD_ALERT + "s", "scope": scope, "alerts": chunk}), scope))
                chunk, size = [], 0
            chunk.append(d)
            size += encoded
        if chunk:
            out.append((orjson.dumps({"kind": n.RECORD_ALERT + "s", "scope": scope, "alerts": chunk}), scope))
    return out


def accept(source: str, body: Any, received_at: datetime, writer: Any, topology: Topology) -> dict[str, Any]:
    alerts = parse(source, body, received_at)
    records = to_records(alerts, lambda a: correlation_scope(a, topology))
    if records:
        writer.put(records)
    return {"accepted": len(alerts), "records": len(records),
            "keys": [a.key for a in alerts][:100]}
