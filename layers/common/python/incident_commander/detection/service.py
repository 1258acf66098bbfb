"""Wires the detection engine to its adapters for the Lambda handler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..runtime import Deps
from ..timeutil import parse_iso
from .engine import DetectionEngine
from .kinesis_batch import handle_batch


def build_engine(deps: Deps) -> DetectionEngine:
    assert deps.detection is not None and deps.workflow is not None, "detection needs its table and state machine"
    return DetectionEngine(deps.settings, deps.detection, deps.events, deps.workflow, deps.topology)


def on_kinesis(event: dict[str, Any], engine: DetectionEngine, log: Any = None) -> dict[str, Any]:
    """The partial-batch response (only `batchItemFailures`: Lambda rejects anything else)."""
    response, result = handle_batch(event, engine)
    if log is not None:
        log.info("batch processed", extra={"alerts": result.alerts_in, "opened": result.incidents_opened,
                                           "dispatched": result.dispatched, "noise": result.noise,
                                           "duplicates": result.duplicates, "redelivered": result.redelivered,
                                           "moved": result.moved, "poison": result.poison})
    return response


def on_tick(event: dict[str, Any], engine: DetectionEngine, now: datetime) -> dict[str, Any]:
    """A scheduled tick (EventBridge Scheduler, or the local player): start settled incidents."""
    at = parse_iso(event["time"]) if isinstance(event.get("time"), str) else now
    return {"dispatched": engine.tick(max(at, now))}
