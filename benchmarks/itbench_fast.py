"""Fast, in-process ITBench evaluation for tuning (seconds, not minutes). NOT the reported figure.

It runs the same domain code as the deployed pipeline — parsers, the detection engine, every
workflow step (diagnosers, consensus) — on in-memory stores, without moto, Lambda or Step
Functions. Figures for the README always come from `benchmarks.itbench` (the real replay).

    .venv/bin/python -m benchmarks.itbench_fast [--detail] [--case itb-021]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from incident_commander.clock import VirtualClock
from incident_commander.config import Settings
from incident_commander.detection.engine import DetectionEngine
from incident_commander.detection.ports import InMemoryDetectionStore, Workflow
from incident_commander.ingest import parse
from incident_commander.local.recording import load
from incident_commander.local.replay import predictions
from incident_commander.runtime import Deps
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.workflow import steps

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EVAL = next((Path(c) / "eval" for c in (os.environ.get("IC_SHARED"), ROOT.parent / "shared",
                                                  "/work/shared") if c and (Path(c) / "eval").is_dir()),
                    ROOT.parent / "shared" / "eval")
DIAGNOSERS = ("rules", "topology", "memory", "llm")  # the branches of the ASL's Parallel state


class FakeControl:
    def get_agent_records(self) -> dict[str, Any]:
        return {}

    def update_agent_record(self, agent: str, change: Any) -> None:
        pass

    def put_task_token(self, *a: Any) -> None:
        pass


class InlineWorkflow(Workflow):
    """Runs the state machine's happy path synchronously: begin -> diagnosers -> consensus."""

    def __init__(self, deps: Deps):
        self.deps = deps

    def start(self, name: str, payload: dict[str, Any]) -> str:
        ctx = steps.begin(self.deps, payload["incident_id"], name, payload.get("attempt", 1))
        votes = []
        for d in DIAGNOSERS:
            try:
                votes.append(steps.diagnose(self.deps, payload["incident_id"], d, name))
            except Exception as exc:  # noqa: BLE001 - mirrors the ASL's Catch
                votes.append({"agent": d, "ok": False, "error": type(exc).__name__, "cause": str(exc)})
        steps.consensus(self.deps, payload["incident_id"], votes, name, tier=ctx["tier"])
        return name


def run_case(case: Path) -> dict[str, Any]:
    rec = load(case)
    clock = VirtualClock()
    events = InMemoryEventStore()
    deps = Deps(settings=Settings(), events=events, topology=lambda: rec.topology, control=FakeControl(),
                clock=clock)
    engine = DetectionEngine(deps.settings, InMemoryDetectionStore(), events, InlineWorkflow(deps), deps.topology)
    for i, d in enumerate(rec.deliveries):
        clock.set(d.at)
        engine.process(parse(d.source, d.body, d.at), f"b{i}")
        engine.tick(d.at)
    if rec.deliveries:
        cfg = deps.settings.detection
        end = max(d.at for d in rec.deliveries) + timedelta(seconds=cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1)
        clock.set(end)
        engine.tick(end)
    return predictions(list(events.states.values()), rec.topology)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--set", default="itbench")
    p.add_argument("--case")
    p.add_argument("--detail", action="store_true")
    args = p.parse_args(argv)
    cases = args.eval / args.set
    with tempfile.TemporaryDirectory() as out:
        for case in sorted(cases.iterdir()):
            if args.case and case.name != args.case:
                continue
            (Path(out) / f"{case.name}.json").write_text(json.dumps(run_case(case)))
        r = subprocess.run([sys.executable, str(args.eval / "score.py"), str(cases), out]
                           + (["--detail"] if args.detail else []), capture_output=True, text=True)
    print(r.stdout)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
