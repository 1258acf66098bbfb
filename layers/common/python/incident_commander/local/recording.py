"""Reading a recorded alert storm (the replay contract's CASE_DIR), with errors that name file and line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import names as n
from ..ingest import PayloadError, parse
from ..timeutil import parse_iso
from ..topology import Topology, TopologyError


class RecordingError(ValueError):
    """Bad input: the message is one line naming the file and line."""


@dataclass(frozen=True)
class Delivery:
    at: datetime
    source: str
    body: Any
    line: int


@dataclass(frozen=True)
class Recording:
    deliveries: list[Delivery]
    topology: Topology
    topology_text: str


def load(case_dir: Path) -> Recording:
    case_dir = Path(case_dir)
    if not case_dir.is_dir():
        raise RecordingError(f"{case_dir}: not a directory")
    events = case_dir / "events.jsonl"
    if not events.is_file():
        raise RecordingError(f"{events}: missing (every case needs events.jsonl)")
    topo_file = case_dir / "topology.yaml"
    topo_text = topo_file.read_text() if topo_file.is_file() else ""
    try:
        topology = Topology.parse_yaml(topo_text, str(topo_file)) if topo_text else Topology()
    except TopologyError as exc:
        raise RecordingError(str(exc)) from exc
    deliveries: list[Delivery] = []
    with events.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{events}:{lineno}"
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordingError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(doc, dict):
                raise RecordingError(f"{where}: expected an object with at, source and body")
            for key in ("at", "source", "body"):
                if key not in doc:
                    raise RecordingError(f"{where}: missing '{key}'")
            if doc["source"] not in n.SOURCES:
                raise RecordingError(f"{where}: unknown source {doc['source']!r} (one of {', '.join(n.SOURCES)})")
            try:
                at = parse_iso(doc["at"]) if isinstance(doc["at"], str) else None
            except ValueError:
                at = None
            if at is None:
                raise RecordingError(f"{where}: 'at' is not an ISO 8601 time")
            try:
                parse(doc["source"], doc["body"], at)
            except PayloadError as exc:
                raise RecordingError(f"{where}: body.{exc}") from exc
            deliveries.append(Delivery(at=at, source=doc["source"], body=doc["body"], line=lineno))
    return Recording(deliveries=deliveries, topology=topology, topology_text=topo_text)
