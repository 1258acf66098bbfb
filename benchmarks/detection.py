"""Detection benchmark: the shared 200k-alert storm through the real Kinesis handler code path, beside
Prometheus Alertmanager on the same storm, and the detection function's cold start. Prints figures;
asserts nothing (the machine is shared and noisy: compare the ratio measured in the same run).

    .venv/bin/python -m benchmarks.detection [--n 200000] [--no-alertmanager] [--repeat 3]

- Storm: `../shared/bench/gen_storm.py` (200k alerts, 2,000 label sets). Deliveries of 500 alerts are
  parsed by the ingestion code (`ingest.parse` + `detection.records.encode`, the api function's work,
  timed separately) into the Kinesis records the api function writes; records are packed into Lambda
  events (<= 500 records, <= 5 MB of data). Each event goes through `detection.service.on_kinesis`
  (what the handler calls): base64 + JSON decode, dedup, correlate, events, dispatch. The stores and
  the workflow are the in-memory fakes with the DynamoDB adapters' semantics (no AWS, no moto).
  CPU is the worker process's own CPU time inside those calls; peak memory is the worker's peak RSS
  (the whole process: interpreter, libraries, the stores). Runs in a fresh process per repeat.
- Alertmanager: `../shared/bench/alertmanager/run_am.py` on the same storm file (its own process
  CPU for ingesting through its HTTP API); skipped with a note when Alertmanager or node is missing.
- Cold start: a fresh interpreter imports `functions/detection/handler.py` and builds the handler's
  dependencies (settings, boto3 clients, adapters), with and without compiled bytecode.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = next((Path(c) for c in (os.environ.get("IC_SHARED"), ROOT.parent / "shared", "/work/shared")
               if c and Path(c).is_dir()), ROOT.parent / "shared")
BENCH = SHARED / "bench"
DELIVERY = 500  # alerts per webhook delivery (Alertmanager's harness posts batches of 500 too)
MAX_EVENT_RECORDS = 500  # the wiring's batch size
MAX_EVENT_BYTES = 5 * 1024 * 1024  # Lambda's 6 MB invocation payload, with room for the envelope
T0 = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)


# --- the storm through detection (runs in a worker process) ----------------------------------------
def deliveries(storm: Path, span_seconds: float, total: int) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """Alertmanager webhook bodies (v4) of DELIVERY alerts each, received evenly over `span_seconds`."""
    chunk: list[dict[str, Any]] = []
    n = 0
    with storm.open() as fh:
        for line in fh:
            a = json.loads(line)
            chunk.append({"status": "firing", "labels": a["labels"], "annotations": a["annotations"],
                          "startsAt": a["startsAt"], "endsAt": "0001-01-01T00:00:00Z",
                          "generatorURL": a["generatorURL"]})
            n += 1
            if len(chunk) == DELIVERY:
                yield T0 + timedelta(seconds=span_seconds * n / total), _body(chunk)
                chunk = []
    if chunk:
        yield T0 + timedelta(seconds=span_seconds), _body(chunk)


def _body(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"receiver": "incident-commander", "status": "firing", "alerts": alerts, "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "version": "4",
            "groupKey": "{}:{}", "truncatedAlerts": 0}


def kinesis_events(storm: Path, total: int, span_seconds: float, ingest_cpu: list[float]) -> Iterator[dict[str, Any]]:
    """Lambda Kinesis events holding exactly what the api function writes for each delivery."""
    from incident_commander.detection.records import encode
    from incident_commander.ingest import parse

    records: list[dict[str, Any]] = []
    size, seq = 0, 10**20
    for at, body in deliveries(storm, span_seconds, total):
        c0 = time.process_time()
        out = encode(parse("alertmanager", body, at), lambda a: a.scope)
        ingest_cpu[0] += time.process_time() - c0
        for data, pk in out:
            seq += 1
            encoded = base64.b64encode(data).decode()
            if records and (len(records) >= MAX_EVENT_RECORDS or size + len(encoded) > MAX_EVENT_BYTES):
                yield {"Records": records}
                records, size = [], 0
            records.append({"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": pk, "sequenceNumber": str(seq),
                                        "data": encoded, "approximateArrivalTimestamp": at.timestamp()},
                            "eventSource": "aws:kinesis", "eventID": f"shardId-000000000000:{seq}",
                            "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1"})
            size += len(encoded)
    if records:
        yield {"Records": records}


def storm_worker(storm: Path, total: int, span_seconds: float) -> dict[str, Any]:
    from incident_commander.config import Settings
    from incident_commander.detection.engine import DetectionEngine
    from incident_commander.detection.ports import InMemoryDetectionStore, RecordingWorkflow
    from incident_commander.detection.service import on_kinesis
    from incident_commander.store.memory import InMemoryEventStore
    from incident_commander.topology import Topology

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events, store, workflow = InMemoryEventStore(), InMemoryDetectionStore(), RecordingWorkflow()
    topo = Topology()
    engine = DetectionEngine(Settings(), store, events, workflow, lambda: topo)
    ingest_cpu = [0.0]
    cpu = wall = 0.0
    invocations = failures = 0
    for event in kinesis_events(storm, total, span_seconds, ingest_cpu):
        c0, w0 = time.process_time(), time.perf_counter()
        response = on_kinesis(event, engine)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        invocations += 1
        failures += len(response["batchItemFailures"])
    c0 = time.process_time()
    dispatched = engine.tick(T0 + timedelta(seconds=span_seconds + 3600))
    cpu += time.process_time() - c0
    states = list(events.states.values())
    return {
        "alerts": total, "invocations": invocations, "batch_item_failures": failures,
        "detection_cpu_s": round(cpu, 3), "detection_wall_s": round(wall, 3),
        "cpu_us_per_alert": round(cpu / total * 1e6, 2), "alerts_per_cpu_s": round(total / cpu),
        "ingest_api_cpu_us_per_alert": round(ingest_cpu[0] / total * 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mb": round(rss_start, 1),
        "incidents": len(states), "workflows_started": len(workflow.started) + 0 * len(dispatched),
        "distinct_alerts": sum(s.distinct_alerts for s in states),
        "deliveries_counted": sum(s.alert_deliveries for s in states),
        "alerts_listed": sum(len(s.alerts) for s in states),
        "alert_index_entries": len(store.alerts),
    }


# --- cold start (runs in a fresh interpreter) ------------------------------------------------------
COLD = r"""
import os, sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path.insert(0, os.path.join(sys.argv[1], "functions", "detection"))
import handler
t1, c1 = time.perf_counter(), time.process_time()
from incident_commander.runtime import Deps
from incident_commander.detection.service import build_engine
deps = Deps.from_env()
engine = build_engine(deps)
t2, c2 = time.perf_counter(), time.process_time()
print(f'{{"import_ms": {(t1 - t0) * 1000:.1f}, "init_ms": {(t2 - t1) * 1000:.1f}, "total_ms": {(t2 - t0) * 1000:.1f}, '
      f'"cpu_ms": {(c2 - c0) * 1000:.1f}}}')
"""


def cold_start(bytecode: bool) -> dict[str, Any]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "IC_EVENTS_TABLE": "ic-bench-events", "IC_INCIDENTS_TABLE": "ic-bench-incidents",
           "IC_DETECTION_TABLE": "ic-bench-detection", "IC_CONTROL_TABLE": "ic-bench-control",
           "IC_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:111122223333:stateMachine:ic-bench",
           "POWERTOOLS_SERVICE_NAME": "detection"}
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache  # a private bytecode cache: empty (no .pyc) or warmed below
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            subprocess.run([sys.executable, "-c", COLD, str(ROOT)], env=env, capture_output=True, check=True)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", COLD, str(ROOT)], env=env, capture_output=True, text=True,
                               check=True)
            process_ms = (time.perf_counter() - t0) * 1000
            runs.append({**json.loads(r.stdout.strip().splitlines()[-1]), "process_ms": round(process_ms, 1)})
    best = min(runs, key=lambda x: x["total_ms"])
    return {"bytecode": bytecode, **best, "median_total_ms": round(statistics.median(r["total_ms"] for r in runs), 1),
            "median_cpu_ms": round(statistics.median(r["cpu_ms"] for r in runs), 1)}


# --- Alertmanager ------------------------------------------------------------------------------------
def alertmanager(storm: Path) -> dict[str, Any]:
    missing = [t for t in ("prometheus-alertmanager", "node") if shutil.which(t) is None]
    try:
        import psutil  # noqa: F401
    except ImportError:
        missing.append("psutil")
    if missing:
        return {"skipped": f"missing {', '.join(missing)} (apt-get install prometheus-alertmanager; "
                           f"pip install -r requirements-dev.txt)"}
    r = subprocess.run([sys.executable, str(BENCH / "alertmanager" / "run_am.py"), "--file", str(storm),
                        "--batch", str(DELIVERY), "--conc", "4"], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        return {"skipped": f"run_am.py failed: {r.stderr.strip()[-300:]}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--span-seconds", type=float, default=600.0, help="recording time the storm arrives over")
    p.add_argument("--repeat", type=int, default=3, help="detection runs (fresh process each); the median is shown")
    p.add_argument("--no-alertmanager", action="store_true")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(storm_worker(args.worker, args.n, args.span_seconds)))
        return 0
    with tempfile.TemporaryDirectory(prefix="ic-storm-") as tmp:
        storm = Path(tmp) / "storm.jsonl"
        subprocess.run([sys.executable, str(BENCH / "gen_storm.py"), "--n", str(args.n), "--out", str(storm)],
                       check=True, capture_output=True)
        runs = []
        for _ in range(args.repeat):
            r = subprocess.run([sys.executable, "-m", "benchmarks.detection", "--worker", str(storm), "--n",
                                str(args.n), "--span-seconds", str(args.span_seconds)], cwd=ROOT, capture_output=True,
                               text=True, check=True)
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        ours = sorted(runs, key=lambda x: x["cpu_us_per_alert"])[len(runs) // 2]
        am = {"skipped": "--no-alertmanager"} if args.no_alertmanager else alertmanager(storm)
    cold = [cold_start(bytecode=True), cold_start(bytecode=False)]
    ratio = round(ours["alerts_per_cpu_s"] / am["am_alerts_per_cpu_s"], 2) if am.get("am_alerts_per_cpu_s") else None
    summary = {
        "detection": ours, "detection_cpu_us_per_alert_runs": [r["cpu_us_per_alert"] for r in runs],
        "alertmanager": am, "alerts_per_cpu_s_vs_alertmanager": ratio, "cold_start": cold,
    }
    print(f"detection: {ours['cpu_us_per_alert']} µs CPU/alert ({ours['alerts_per_cpu_s']:,} alerts per CPU-second; "
          f"runs {summary['detection_cpu_us_per_alert_runs']}), peak RSS {ours['peak_rss_mb']} MB, "
          f"{ours['incidents']} incidents, {ours['workflows_started']} workflows, "
          f"{ours['distinct_alerts']:,} distinct alerts / {ours['deliveries_counted']:,} deliveries counted")
    print(f"ingestion (api function, not in the figure above): {ours['ingest_api_cpu_us_per_alert']} µs CPU/alert")
    if am.get("am_alerts_per_cpu_s"):
        print(f"alertmanager 0.25: {am['am_alerts_per_cpu_s']:,} alerts per CPU-second "
              f"({round(1e6 / am['am_alerts_per_cpu_s'], 1)} µs/alert), {am['am_groups']} groups, "
              f"peak RSS {am['rss_mb']['peak']} MB -> detection is {ratio}x alertmanager per CPU-second")
    else:
        print(f"alertmanager: {am['skipped']}")
    for c in cold:
        print(f"cold start ({'with' if c['bytecode'] else 'without'} .pyc): imports {c['import_ms']} ms + "
              f"clients/deps {c['init_ms']} ms = {c['total_ms']} ms wall, {c['cpu_ms']} ms CPU (best of 3; "
              f"median {c['median_total_ms']} ms wall, {c['median_cpu_ms']} ms CPU; whole process {c['process_ms']} ms)")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
