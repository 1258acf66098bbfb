"""`incident-commander replay CASE_DIR --out predictions.json`: the evaluation contract.

The recording goes through the real pipeline on the local stack (API handler, Kinesis consumer,
detection, the state machine with every agent), on the recording's clock. Escalations are not
answered: such incidents end `escalate`. Output is written atomically, and only on success.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..config import DetectionConfig
from ..impact import assess
from ..models.incident import IncidentState
from ..store.port import EventStore
from ..topology import Topology
from .player import Player
from .recording import Recording, load
from .stack import LocalStack


def predictions(states: list[IncidentState], topo: Topology) -> dict[str, Any]:
    out = []
    for s in sorted(states, key=lambda s: (s.opened_at or s.updated_at, s.incident_id)):
        d = s.decision
        root = d.root_cause if d else None
        ranked = d.ranked if d else []
        rc = {"category": root.category.value if root else None, "service": root.service if root else None,
              "confidence": root.confidence if root else 0.0}
        out.append({
            "id": s.incident_id,
            "alert_keys": list(s.alerts),
            "root_cause": rc,
            "hypotheses": [{"category": h.category.value, "service": h.service, "confidence": h.confidence}
                           for h in ranked] or ([rc] if root else []),
            "decision": s.decision_kind or "escalate",
            "business_impact": {"cost_per_minute": assess(s, topo).cost_per_minute},
        })
    return {"incidents": out}


def run(rec: Recording, stack: LocalStack) -> dict[str, Any]:
    stack.put_topology(rec.topology_text)
    player = Player(stack)
    for d in rec.deliveries:
        status, reply = player.deliver(d.source, d.body, d.at)
        if status >= 300:
            raise RuntimeError(f"line {d.line}: the API refused the delivery ({status}: {reply})")
    if rec.deliveries:
        cfg = DetectionConfig.model_validate({})
        player.flush(max(d.at for d in rec.deliveries), cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1)
    player.wait_for_workflows()
    return predictions(incident_states(stack.event_store()), rec.topology)


def incident_states(store: EventStore) -> list[IncidentState]:
    """Every incident in the store, with its alert views (listed projections come without them)."""
    states: list[IncidentState] = []
    cursor = None
    while True:
        page = store.list_states(limit=100, cursor=cursor)
        states += [store.with_alerts(s) for s in page.items]
        if not page.cursor:
            return states
        cursor = page.cursor


def write_atomically(path: Path, doc: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".predictions-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replay(case_dir: Path, out: Path) -> dict[str, Any]:
    rec = load(case_dir)  # raises RecordingError before anything starts
    with LocalStack() as stack:
        doc = run(rec, stack)
    write_atomically(out, doc)
    return doc
