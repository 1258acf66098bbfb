"""Cost per million alerts and per incident at the configured defaults, from MEASURED unit counts.

    .venv/bin/python -m benchmarks.cost            (make cost)

Plays the demo scenarios' storms through the embedded local stack (real API handler, Kinesis pump,
detection, the real ASL with every agent) and counts what AWS bills, per function call:

- API Gateway: one REST request per webhook delivery;
- Kinesis: records and their size (billed in 1 KB steps, on-demand in and out);
- Lambda: invocations and duration x the wired memory of each function (local wall time, scaled by
  the share of a vCPU Lambda gives that memory: 1,769 MB = 1 vCPU, so CPU-bound code runs slower there);
- DynamoDB: write and read request units from the size of each item written or read (transactions
  count twice, global-table replicas once more per replica region);
- Step Functions: state transitions, counted from the real ASL along each execution's history.

Ingestion (api, Kinesis, the detection consumer) is charged to alerts; the workflow and its agents to
incidents. Prices are us-east-1 list prices (edit PRICES); fixed monthly costs are printed apart.
The local pump drains after every delivery and the player ticks detection after every delivery, so
Lambda invocations per alert are an upper bound of what batching does in AWS.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

PRICES = {  # USD, us-east-1 list prices (on-demand)
    "apigw_rest_per_request": 3.50 / 1e6,
    "kinesis_ondemand_per_gb_in": 0.08,
    "kinesis_ondemand_per_gb_out": 0.04,
    "kinesis_ondemand_stream_hour": 0.04,
    "kinesis_put_payload_unit": 0.014 / 1e6,  # provisioned mode, 25 KB units
    "kinesis_shard_hour": 0.015,
    "lambda_per_request": 0.20 / 1e6,
    "lambda_arm_per_gb_s": 0.0000133334,
    "ddb_per_wru": 0.625 / 1e6,
    "ddb_per_rru": 0.125 / 1e6,
    "sfn_per_transition": 0.025 / 1e3,
    "aoss_ocu_hour": 0.24,
    "alarm_month": 0.10,
}
TARGET_PER_MILLION_ALERTS = 0.05
TARGET_PER_INCIDENT = 0.01
HOURS_PER_MONTH = 730
LAMBDA_FULL_VCPU_MB = 1769
INGESTION = ("api", "detection")  # function keys charged to alerts
ROOT = Path(__file__).resolve().parents[1]
GEN_STORM = next((Path(c) for c in (os.environ.get("IC_SHARED"), ROOT.parent / "shared", "/work/shared")
                  if c and Path(c).is_dir()), ROOT.parent / "shared") / "bench" / "gen_storm.py"


@dataclass
class Meter:
    """What the functions asked of AWS during a run, by function key."""

    calls: list[tuple[str, str, str, dict, float]] = field(default_factory=list)  # fn, service, op, params, RRU
    # (fn is "<key>:tick" during a scheduler tick: one a minute in AWS, after every delivery locally)
    invocations: list[tuple[str, float, bool]] = field(default_factory=list)  # fn, ms, scheduled tick
    deliveries: int = 0
    local = threading.local()

    def install(self, stack: Any) -> None:
        import botocore.client
        from incident_commander import wiring as w

        by_name = {s.physical_name(stack.stage): s.key for s in w.FUNCTIONS.values()}
        lambdas = stack.lambdas
        original_invoke = lambdas.invoke
        meter = self

        def invoke(fn: Any, event: Any) -> Any:
            key = by_name.get(fn.function_name, fn.function_name)
            tick = isinstance(event, dict) and event.get("detail-type") == "Scheduled Event"
            meter.local.fn = f"{key}:tick" if tick else key
            t0 = time.perf_counter()
            try:
                return original_invoke(fn, event)
            finally:
                meter.invocations.append((key, (time.perf_counter() - t0) * 1000, tick))
                meter.local.fn = None

        lambdas.invoke = invoke
        original_call = botocore.client.BaseClient._make_api_call

        def call(client: Any, operation: str, params: dict) -> Any:
            result = original_call(client, operation, params)
            fn = getattr(meter.local, "fn", None)
            if fn:
                meter.calls.append((fn, client.meta.service_model.service_name, operation, params, _read_units(
                    operation, params, result)))
            return result

        botocore.client.BaseClient._make_api_call = call
        self._restore = lambda: setattr(botocore.client.BaseClient, "_make_api_call", original_call)

    def uninstall(self) -> None:
        self._restore()


def _read_units(operation: str, params: dict, result: dict) -> float:
    """Read request units of one DynamoDB read: GetItem and BatchGetItem per item (4 KB steps, a
    missing item still costs one step), Query by the total size read; half when eventually
    consistent, twice for a transaction."""
    def size(item: dict) -> int:
        return _item_bytes(item)

    if operation == "GetItem":
        steps = max(1, math.ceil(size(result.get("Item") or {}) / 4096))
        return steps * (1.0 if params.get("ConsistentRead") else 0.5)
    if operation == "Query":
        steps = max(1, math.ceil(sum(size(i) for i in result.get("Items", [])) / 4096))
        return steps * (1.0 if params.get("ConsistentRead") else 0.5)
    if operation == "BatchGetItem":
        total = 0.0
        for table, req in params["RequestItems"].items():
            found = result.get("Responses", {}).get(table, [])
            unprocessed = len(result.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
            steps = sum(max(1, math.ceil(size(i) / 4096)) for i in found) + max(
                0, len(req["Keys"]) - len(found) - unprocessed)
            total += steps * (1.0 if req.get("ConsistentRead") else 0.5)
        return total
    if operation == "TransactGetItems":
        return 2.0 * sum(max(1, math.ceil(size(r.get("Item") or {}) / 4096)) for r in result.get("Responses", []))
    return 0.0


def _alerts_in(data: bytes) -> int:
    """Alerts in a stream record (detection/records.py: a header indexing the alerts, or plain JSON)."""
    from incident_commander.detection import records

    rec = records.decode(base64.b64encode(data).decode())
    if isinstance(rec, records.Packed):
        return len(rec.header["alerts"])
    return len(rec.get("alerts") or []) if isinstance(rec, dict) else 0


def _item_bytes(item: dict) -> int:
    """DynamoDB item size as DynamoDB computes it: attribute names plus values (a marshalled item)."""
    return sum(len(name.encode()) + _value_bytes(v) for name, v in item.items() if isinstance(v, dict))


def _value_bytes(v: dict) -> int:
    (t, x), = v.items()
    if t == "S":
        return len(x.encode())
    if t == "B":
        return len(x if isinstance(x, bytes) else base64.b64decode(x))
    if t == "N":
        return len(str(x).lstrip("-").replace(".", "").lstrip("0")) // 2 + 1
    if t in ("BOOL", "NULL"):
        return 1
    if t in ("SS", "NS", "BS"):
        return sum(_value_bytes({t[0]: e}) for e in x)
    if t == "L":
        return 3 + sum(1 + _value_bytes(e) for e in x)
    if t == "M":
        return 3 + sum(1 + len(k.encode()) + _value_bytes(e) for k, e in x.items())
    return 0


def _kind(table: str, item: dict) -> str:
    """What a written item is, for the breakdown: table key and, where one table holds several
    kinds of item, the kind (names.py prefixes)."""
    from incident_commander import names as n

    key = _TABLE_KEYS.get(table, table)
    pk = str(next(iter((item.get(n.PK) or item.get(n.INCIDENTS_PK) or {"S": ""}).values()), ""))  # marshalled
    if key == n.T_INCIDENTS:
        return "incidents: idempotency markers" if pk.startswith(n.IDEMPOTENCY_PREFIX) else "incidents: projections"
    if key == n.T_DETECTION:
        return ("detection: scope states" if pk.startswith(n.DETECTION_SCOPE_PREFIX) else
                "detection: alert index" if pk.startswith(n.DETECTION_ALERT_PREFIX) else "detection: pending list")
    return key


def _read_kind(op: str, p: dict) -> str:
    if op == "GetItem":
        return _kind(p["TableName"], p["Key"])
    if op == "BatchGetItem":
        table, req = next(iter(p["RequestItems"].items()))
        return _kind(table, req["Keys"][0])
    if op == "Query":
        key = _TABLE_KEYS.get(p["TableName"], p["TableName"])
        return f"{key}: query" + (f" {p['IndexName']}" if p.get("IndexName") else "")
    return op


def _written(p: dict) -> dict:
    """The item a Put / Update / Delete writes: a Put's item; an update's key and new values (a lower
    bound: DynamoDB bills the larger of the item before and after); a delete's key."""
    if "Item" in p:
        return p["Item"]
    if "UpdateExpression" in p:
        return {**p["Key"], **p.get("ExpressionAttributeValues", {})}
    return p["Key"]


def _write(c: Counter, table: str, item: dict, factor: int) -> None:
    """Write units of one item written (`factor` 2 inside a transaction): the table's own, one more
    per global secondary index holding the item (indexes project ALL attributes, local/stack.py),
    and the same again in every replica region (`wru_replicated`: replication applies each
    committed item once per replica, as a standard write, and replica regions keep their own
    indexes)."""
    from incident_commander import wiring as w

    units = math.ceil(_item_bytes(item) / 1024)
    spec = w.TABLES.get(_TABLE_KEYS.get(table, ""))
    indexed = sum(1 for ix in (spec.indexes if spec else ()) if ix.pk.name in item)
    kind = _kind(table, item)
    c["wru"] += factor * units + indexed * units
    c[f"wru {kind}"] += factor * units + indexed * units
    if _global(table):
        c["wru_replicated"] += units + indexed * units


def units(meter: Meter) -> dict[str, dict[str, float]]:
    """Billable units per function key."""
    u: dict[str, Counter] = defaultdict(Counter)
    for fn, service, op, p, size in meter.calls:
        c = u[fn]
        if service == "kinesis" and op in ("PutRecords", "PutRecord"):
            records = p.get("Records") or [p]
            for r in records:
                data = r["Data"] if isinstance(r["Data"], bytes) else base64.b64decode(r["Data"])
                c["kinesis_records"] += 1
                c["kinesis_kb"] += math.ceil(len(data) / 1024)
                c["kinesis_put_units"] += math.ceil(len(data) / 25600)
                c["alerts"] += _alerts_in(data)
        elif service == "dynamodb":
            if op in ("PutItem", "UpdateItem", "DeleteItem"):
                _write(c, p["TableName"], _written(p), 1)
            elif op == "TransactWriteItems":
                for item in p["TransactItems"]:
                    (kind, body), = item.items()
                    if kind != "ConditionCheck":
                        _write(c, body["TableName"], _written(body), 2)
            elif op == "BatchWriteItem":
                for table, reqs in p["RequestItems"].items():
                    for r in reqs:
                        req = r.get("PutRequest") or r.get("DeleteRequest") or {}
                        _write(c, table, req.get("Item") or req.get("Key") or r, 1)
            elif op in ("GetItem", "Query", "BatchGetItem", "TransactGetItems"):
                c["rru"] += size
                c[f"rru {_read_kind(op, p)}"] += size
        elif service == "stepfunctions" and op == "StartExecution":
            c["executions"] += 1
    for fn, ms, tick in meter.invocations:
        key = f"{fn}:tick" if tick else fn
        u[key]["invocations"] += 1
        u[key]["ms"] += ms
    return {k: dict(v) for k, v in u.items()}


_TABLE_KEYS: dict[str, str] = {}  # physical table name -> wiring key
_GLOBAL_TABLES: set[str] = set()


def _global(table_name: str) -> bool:
    return table_name in _GLOBAL_TABLES


def transitions(stack: Any) -> dict[str, int]:
    """State transitions of every execution (by name), from its history: one per state entered."""
    sfn = stack.client("stepfunctions")
    execs = sfn.list_executions(stateMachineArn=stack.state_machine_arn, maxResults=1000)["executions"]
    out = {}
    for e in execs:
        kwargs: dict[str, Any] = {"executionArn": e["executionArn"], "maxResults": 1000}
        out[e["name"]] = 0
        while True:
            h = sfn.get_execution_history(**kwargs)
            out[e["name"]] += sum(1 for ev in h["events"] if ev["type"].endswith("StateEntered"))
            if not h.get("nextToken"):
                break
            kwargs["nextToken"] = h["nextToken"]
    return out


def scenario_plays(names: list[str]) -> list[tuple[str, str, list]]:
    from incident_commander.scenarios import get_scenario

    return [(name, get_scenario(name).topology_yaml, get_scenario(name).render()) for name in names]


def storm_play(alerts: int, per_request: int) -> tuple[str, str, list]:
    """A storm at scale: `alerts` distinct firing alerts on the database-cascade topology, sent as
    Alertmanager webhooks of `per_request` alerts, one a second (what a grouped Alertmanager does)."""
    from incident_commander.scenarios import get_scenario
    from incident_commander.scenarios.base import EPOCH, Storm
    from incident_commander.topology import Topology

    scenario = get_scenario("database-cascade")
    services = sorted(Topology.parse_yaml(scenario.topology_yaml, "storm").services)
    names = ("HighRequestLatency", "HighRequestErrorRate", "PodCrashLooping", "HighMemoryUsage")
    storm = Storm(EPOCH)
    batch: list[dict] = []
    for i in range(alerts):
        svc = services[i % len(services)]
        batch.append({"name": names[(i // len(services)) % len(names)], "service": svc, "severity": "warning",
                      "labels": {"pod": f"{svc}-{i // (len(services) * len(names))}"}, "age": 30})
        if len(batch) == per_request or i == alerts - 1:
            storm.alertmanager(float(i // per_request), batch)
            batch = []
    return (f"storm of {alerts} alerts ({per_request} per webhook)", scenario.topology_yaml,
            sorted(storm.deliveries, key=lambda d: d.at))


def repeat_storm_play(alerts: int, label_sets: int, per_request: int, span_seconds: float) -> tuple[str, str, list]:
    """A realistic storm: `../shared/bench/gen_storm.py`'s shape (Zipf-skewed repeats of `label_sets`
    label sets over 50 services, 12 alert names and 3 clusters; every set fires at least once), sent
    as Alertmanager webhooks of `per_request` alerts spread evenly over `span_seconds`. The storm's
    services are not in any topology: alerts correlate by cluster and namespace."""
    from incident_commander.scenarios.base import EPOCH, Delivery

    with tempfile.TemporaryDirectory(prefix="ic-cost-storm-") as tmp:
        out = Path(tmp) / "storm.jsonl"
        subprocess.run([sys.executable, str(GEN_STORM), "--n", str(alerts), "--sets", str(label_sets),
                        "--out", str(out)], check=True, capture_output=True)
        lines = out.read_text().splitlines()
    deliveries = []
    for i in range(0, len(lines), per_request):
        chunk = [json.loads(x) for x in lines[i:i + per_request]]
        body = {"receiver": "incident-commander", "status": "firing", "groupLabels": {}, "commonLabels": {},
                "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "version": "4",
                "groupKey": "{}:{}", "truncatedAlerts": 0,
                "alerts": [{"status": "firing", "labels": a["labels"], "annotations": a["annotations"],
                            "startsAt": a["startsAt"], "endsAt": "0001-01-01T00:00:00Z",
                            "generatorURL": a["generatorURL"]} for a in chunk]}
        deliveries.append(Delivery(EPOCH + timedelta(seconds=span_seconds * i / len(lines)), "alertmanager", body))
    return (f"repeat-heavy storm of {alerts} alerts over {label_sets} label sets ({per_request} per webhook, "
            f"over {span_seconds:.0f} s)", "services: {}\n", deliveries)


def deliver(player: Any, meter: Meter, name: str, deliveries: list, window: float) -> None:
    """Play the deliveries. `window` 0: the stream consumer and a scheduler tick after every delivery
    (an upper bound of invocations). Otherwise as in AWS: the consumer is invoked once per batching
    window (`window` seconds of the recording; the wiring's batch size still applies) with every
    record that arrived in it, and the scheduler ticks once a minute."""
    if not window:
        for d in deliveries:
            status, reply = player.deliver(d.source, d.body, d.at)
            if status >= 300:
                raise RuntimeError(f"{name}: delivery refused: {status} {reply}")
            meter.deliveries += 1
        return
    window_ends, next_tick = None, deliveries[0].at + timedelta(seconds=60)
    for d in deliveries:
        if window_ends is not None and d.at >= window_ends:
            player.stack.pump.drain()
            window_ends = None
        while d.at >= next_tick:
            player.tick(next_tick)
            next_tick += timedelta(seconds=60)
        player.clock.set(d.at)
        status, reply = player.api("POST", f"/alerts/{d.source}", d.body, d.at)
        if status >= 300:
            raise RuntimeError(f"{name}: delivery refused: {status} {reply}")
        meter.deliveries += 1
        window_ends = window_ends or d.at + timedelta(seconds=window)
    player.stack.pump.drain()


def play(plays: list[tuple[str, str, list]], window: float = 0.0) -> tuple[Meter, int, int, int, dict[str, list[int]]]:
    from incident_commander import wiring as w
    from incident_commander.config import DetectionConfig
    from incident_commander.local.player import Player
    from incident_commander.local.stack import LocalStack

    _GLOBAL_TABLES.update(s.physical_name("local") for s in w.TABLES.values() if s.global_table)
    _TABLE_KEYS.update({s.physical_name("local"): k for k, s in w.TABLES.items()})
    meter, executions, steps, incidents = Meter(), 0, 0, 0
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for name, topology, deliveries in plays:
        with LocalStack() as stack:
            stack.put_topology(topology)
            meter.install(stack)
            try:
                player = Player(stack)
                deliver(player, meter, name, deliveries, window)
                cfg = DetectionConfig.model_validate({})
                player.flush(deliveries[-1].at, cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1)
                player.wait_for_workflows()
            finally:
                meter.uninstall()
            per_execution = transitions(stack)
            executions, steps = executions + len(per_execution), steps + sum(per_execution.values())
            states = stack.event_store().list_states(limit=1000).items
            incidents += len(states)
            from incident_commander.adapters.stepfunctions import StepFunctionsWorkflow

            for st in states:
                count = per_execution.get(StepFunctionsWorkflow.execution_name(st.incident_id))
                if count is not None:
                    by_outcome[st.decision_kind or "escalate (unanswered)"].append(count)
            import requests

            # moto's state lives in this process: the next play starts from empty tables
            requests.post(f"{stack.endpoint}/moto-api/reset", timeout=30).raise_for_status()
    return meter, executions, steps, incidents, by_outcome


def price(u: dict[str, dict[str, float]], keys: list[str], replicas: int) -> dict[str, float]:
    from incident_commander import wiring as w

    out: Counter = Counter()
    for k in keys:
        c = u.get(k, {})
        spec = w.FUNCTIONS.get(k.split(":")[0])
        mb = spec.memory_mb if spec else 512
        cpu_share = min(1.0, mb / LAMBDA_FULL_VCPU_MB)
        out["lambda"] += c.get("invocations", 0) * PRICES["lambda_per_request"]
        out["lambda"] += (c.get("ms", 0) / cpu_share) / 1000 * (mb / 1024) * PRICES["lambda_arm_per_gb_s"]
        out["dynamodb"] += (c.get("wru", 0) + replicas * c.get("wru_replicated", 0)) * PRICES["ddb_per_wru"]
        out["dynamodb"] += c.get("rru", 0) * PRICES["ddb_per_rru"]
        out["kinesis"] += c.get("kinesis_kb", 0) / 1024 ** 2 * (PRICES["kinesis_ondemand_per_gb_in"]
                                                                + PRICES["kinesis_ondemand_per_gb_out"])
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    from incident_commander import wiring as w
    from incident_commander.scenarios import SCENARIOS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", nargs="*", default=sorted(SCENARIOS), help="demo scenarios to play")
    ap.add_argument("--storm", type=int, default=0, metavar="ALERTS",
                    help="instead, a storm of this many distinct alerts (Alertmanager webhooks, one a second)")
    ap.add_argument("--repeats", type=int, default=0, metavar="ALERTS",
                    help="instead, a repeat-heavy storm of this many alerts (gen_storm.py's shape)")
    ap.add_argument("--sets", type=int, default=2000, help="distinct label sets of --repeats")
    ap.add_argument("--span", type=float, default=600.0, help="seconds of recording --repeats arrives over")
    ap.add_argument("--per-request", type=int, default=100, help="alerts per webhook in a storm")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds of recording per stream-consumer invocation (0: one per delivery; default: "
                         "the wiring's batching window for storms, 0 for the scenarios)")
    ap.add_argument("--replicas", type=int, default=1, help="global-table replica regions (prod: 1)")
    args = ap.parse_args(argv)

    # a scheduler tick that starts many workflows at once runs longer than botocore's 10 s read
    # timeout on the local stack (the agents run in this process too): botocore would then invoke it
    # again, concurrently, and the second tick would find its scope saved by the first
    os.environ.setdefault("IC_RETRY_READ_TIMEOUT", "600")
    t0 = time.monotonic()
    consumer = next(c for c in w.STREAM_CONSUMERS if c.function == "detection")
    storm = bool(args.storm or args.repeats)
    window = args.window if args.window is not None else (consumer.max_batching_window_s if storm else 0.0)
    plays = ([repeat_storm_play(args.repeats, args.sets, args.per_request, args.span)] if args.repeats
             else [storm_play(args.storm, args.per_request)] if args.storm else scenario_plays(args.scenarios))
    meter, executions, steps, incidents, by_outcome = play(plays, window)
    u = units(meter)
    alerts = sum(c.get("alerts", 0) for c in u.values())
    tick_keys = [k for k in u if k.endswith(":tick")]
    # with a batching window the scheduler ticks once a minute, as in AWS: their work is the storm's
    ingest_keys = [k for k in u if k in INGESTION or (window and k in tick_keys)]
    workflow_keys = [k for k in u if k not in INGESTION and k not in tick_keys]
    per_alert = price(u, ingest_keys, args.replicas)
    per_alert["api_gateway"] = meter.deliveries * PRICES["apigw_rest_per_request"]
    per_incident = price(u, workflow_keys, args.replicas)
    per_incident["step_functions"] = steps * PRICES["sfn_per_transition"]

    print(f"played {', '.join(p[0] for p in plays)} in {time.monotonic() - t0:.0f} s: {meter.deliveries} webhook "
          f"deliveries, {alerts} alerts ({alerts / max(1, meter.deliveries):.1f} per delivery), {incidents} "
          f"incidents, {executions} workflows, {steps} state transitions ({steps / max(1, executions):.1f} each)")
    print(f"stream consumer: {'one invocation per delivery, a tick after each' if not window else f'one invocation per {window:g} s batching window, a tick a minute'}")
    if by_outcome:
        print("state transitions per workflow by outcome (the real ASL, from the execution histories): " + ", ".join(
            f"{k} {min(v)}-{max(v)}" if min(v) != max(v) else f"{k} {v[0]}" for k, v in sorted(by_outcome.items())))
    print("\nunits by function (':tick' = scheduler ticks):")
    for k in sorted(u):
        c = u[k]
        print(f"  {k:18} inv {c.get('invocations', 0):5.0f}  mean {c.get('ms', 0) / max(1, c.get('invocations', 1)):6.1f} ms"
              f"  WRU {c.get('wru', 0):7.0f} (+{c.get('wru_replicated', 0):5.0f} per replica)  RRU {c.get('rru', 0):7.1f}"
              f"  Kinesis KB {c.get('kinesis_kb', 0):6.0f}  starts {c.get('executions', 0):3.0f}")
    scale = 1e6 / max(1, alerts)
    for prefix, what in (("wru ", "write units charged to alerts, by what was written (home region)"),
                         ("rru ", "read units charged to alerts")):
        by_kind: Counter = Counter()
        for k in ingest_keys:
            by_kind.update({kind[4:]: v for kind, v in u[k].items() if kind.startswith(prefix)})
        print(f"\n{what}, per 1,000 alerts:")
        for kind, v in by_kind.most_common():
            print(f"  {kind:32} {v * 1000 / max(1, alerts):9.1f}")
    total_alerts = sum(per_alert.values()) * scale
    total_incident = sum(per_incident.values()) / max(1, incidents)
    print(f"\nper million alerts (replicas={args.replicas}):")
    for k, v in sorted(per_alert.items(), key=lambda kv: -kv[1]):
        print(f"  {k:15} ${v * scale:9.4f}")
    print(f"  {'total':15} ${total_alerts:9.4f}   target ${TARGET_PER_MILLION_ALERTS}: "
          f"{'met' if total_alerts <= TARGET_PER_MILLION_ALERTS else 'NOT met'}")
    put_units = sum(u[k].get("kinesis_put_units", 0) for k in ingest_keys)
    provisioned = total_alerts - per_alert.get("kinesis", 0) * scale + put_units * PRICES["kinesis_put_payload_unit"] * scale
    print(f"  with a provisioned stream instead (cdk.json kinesis_shards > 0: $"
          f"{PRICES['kinesis_put_payload_unit'] * 1e6:.3f} per million 25 KB PUT units, shard-hours fixed): "
          f"${provisioned:.4f}   target: {'met' if provisioned <= TARGET_PER_MILLION_ALERTS else 'NOT met'}")
    if incidents:
        print("per incident:")
        for k, v in sorted(per_incident.items(), key=lambda kv: -kv[1]):
            print(f"  {k:15} ${v / max(1, incidents):9.6f}")
        print(f"  {'total':15} ${total_incident:9.6f}   target ${TARGET_PER_INCIDENT}: "
              f"{'met' if total_incident <= TARGET_PER_INCIDENT else 'NOT met'}")
    ticks = sum(u[k].get("invocations", 0) for k in tick_keys)
    per_tick = sum(price(u, tick_keys, args.replicas).values()) / max(1, ticks)
    # errors + throttles per function, iterator age + failures per consumer, 2 workflow, 2 DLQs, 1 circuit
    alarms = 2 * len(w.FUNCTIONS) + 2 * (len(w.STREAM_CONSUMERS) + len(w.TABLE_STREAM_CONSUMERS)) + 5
    fixed = {"Kinesis on-demand stream-hours": PRICES["kinesis_ondemand_stream_hour"] * HOURS_PER_MONTH * len(w.STREAMS),
             "Kinesis provisioned instead: shard-hours per shard (1 MB/s, 1,000 records/s in)":
                 PRICES["kinesis_shard_hour"] * HOURS_PER_MONTH,
             "OpenSearch Serverless (1 OCU dev, 2 OCU with standby)": PRICES["aoss_ocu_hour"] * HOURS_PER_MONTH,
             f"scheduler ticks (43,800 a month at ${per_tick:.7f} measured each)": 43800 * per_tick,
             f"CloudWatch alarms ({alarms})": alarms * PRICES["alarm_month"]}
    print("fixed per month (not in the figures above):")
    for k, v in fixed.items():
        print(f"  {k:80} ${v:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
