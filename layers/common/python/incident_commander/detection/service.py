"""Wires the detection engine to its adapters for the Lambda handler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..resilience.memory import MemoryGuard, Pressure, admitted, degraded
from ..runtime import Deps
from ..timeutil import parse_iso
from .engine import DetectionEngine
from .index_cache import IndexCache
from .kinesis_batch import handle_batch


def build_engine(deps: Deps) -> DetectionEngine:
    assert deps.detection is not None and deps.workflow is not None, "detection needs its table and state machine"
    # the engine is built per invocation; the alert index entries it knows live as long as the container
    index = deps.extras.setdefault("index_cache", IndexCache())
    return DetectionEngine(deps.settings, deps.detection, deps.events, deps.workflow, deps.topology, index=index)


def memory_guard(deps: Deps, context: Any = None) -> MemoryGuard | None:
    """The container's memory guard (resilience/memory.py), built once from its configured limit."""
    if "memory_guard" not in deps.extras:
        limit = float(getattr(context, "memory_limit_in_mb", 0) or 0) or None
        deps.extras["memory_guard"] = MemoryGuard.from_config(deps.settings.resilience, limit)
    return deps.extras["memory_guard"]


def on_kinesis(event: dict[str, Any], engine: DetectionEngine, log: Any = None,
               guard: MemoryGuard | None = None) -> dict[str, Any]:
    """The partial-batch response (only `batchItemFailures`: Lambda rejects anything else). Under
    memory pressure the batch runs degraded, and under hard pressure its tail is handed back."""
    level = guard.level() if guard is not None else Pressure.OK
    deferred: list[dict[str, str]] = []
    if level != Pressure.OK:
        s = engine.settings
        engine = DetectionEngine(s.model_copy(update={"detection": degraded(s.detection)}), engine.store,
                                 engine.events, engine.workflow, engine.topology, engine.workflow_input, engine.index)
        records = event.get("Records") or []
        keep = admitted(len(records), level)
        deferred = [{"itemIdentifier": str(r["kinesis"]["sequenceNumber"])} for r in records[keep:]]
        event = {**event, "Records": records[:keep]}
        if log is not None:
            log.warning("memory pressure: batch degraded", extra={"level": level.value, "deferred": len(deferred),
                                                                  **guard.report()})  # type: ignore[union-attr]
    response, result = handle_batch(event, engine)
    response["batchItemFailures"] += deferred
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
