"""Fault injection on the embedded local stack: a storm replayed through the real pipeline while a
dependency misbehaves, then every accepted alert accounted for and the predictions compared with
the fault-free run. Used by `tests/integration/test_faults*.py` (a few faults) and
`benchmarks/faults.py` (the fault table).

How each fault is made (the code under test is never patched):
- DynamoDB throttling / conflicts: botocore `before-send` hooks on every client (`adapters.aws.add_hook`)
  answer a share of requests with DynamoDB's own error responses (ProvisionedThroughputExceeded,
  TransactionCanceled with TransactionConflict, ConditionalCheckFailed), so botocore's retry mode
  and our handling see exactly what AWS would send. Backoff sleeps are scaled down like the ASL's.
- Kinesis PutRecords partial failures: a share of the records in a call is refused with
  ProvisionedThroughputExceededException (the others really written), as the service does.
- a Lambda crashing mid-batch: the detection function dies (an exception out of the handler) at a
  share of its DynamoDB writes while it processes a stream batch.
- the same batch delivered twice: every stream batch goes to the detection function twice.
- Bedrock, OpenSearch, Slack and PagerDuty: the functions talk to local HTTP doubles (SigV4 checked
  for Bedrock and OpenSearch) scripted to throttle, time out, answer malformed output or fail.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from incident_commander import names as n
from incident_commander import wiring as w
from incident_commander.adapters import aws
from incident_commander.clock import SHARED
from incident_commander.config import DetectionConfig
from incident_commander.ingest import parse
from incident_commander.local.recording import Delivery, Recording
from incident_commander.local.stack import REGION, LocalStack
from incident_commander.resilience.accounting import Accounting, account
from incident_commander.topology import Topology

from tests.doubles.http_sink import HttpSink
from tests.helpers import am_alert, am_body
from tests.integration.memory_doubles import ACCESS_KEY, SECRET_KEY, BedrockDouble, OpenSearchDouble

BACKOFF_SCALE = 0.01  # botocore's retry sleeps, like the ASL's (IC_LOCAL_RETRY_SCALE)
DOUBLE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
PRIMARY, FALLBACK = "anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-lite-v1:0"


# --- the workload: a storm -------------------------------------------------------------------------------
def storm(pods: int = 12, resends: int = 8, start=None) -> Recording:
    """The database-cascade scenario (CloudWatch, SNS, Grafana, PagerDuty, Alertmanager payloads) inside an
    Alertmanager storm: `pods` pods of each API erroring, re-sent every 15 s `resends` times, heartbeat
    noise, alerts resolved before they were seen firing, and an unrelated disk incident later."""
    from incident_commander.scenarios.catalog import get_scenario

    sc = get_scenario("database-cascade")
    deliveries = [Delivery(d.at, d.source, d.body, i) for i, d in enumerate(sc.render())]
    t0 = deliveries[0].at
    apis = ("checkout-api", "payments-api", "catalog-api")
    for r in range(resends):
        at = t0 + timedelta(seconds=20 + 15 * r)
        for svc in apis:
            alerts = [am_alert("HighRequestErrorRate", svc, at, cluster="prod-us-east-1",
                               extra={"pod": f"{svc}-{p}", "namespace": "prod"}) for p in range(pods)]
            deliveries.append(Delivery(at, "alertmanager", am_body(*alerts), len(deliveries)))
        noise = [am_alert("Watchdog", "monitoring", at, severity="none", extra={"namespace": "monitoring"})]
        deliveries.append(Delivery(at, "alertmanager", am_body(*noise), len(deliveries)))
    late = t0 + timedelta(minutes=30)
    gone = am_alert("CPUThrottlingHigh", "search-api", late, status="resolved", severity="warning")
    deliveries.append(Delivery(late, "alertmanager", am_body(gone), len(deliveries)))
    disk = [am_alert("NodeFilesystemAlmostOutOfSpace", "search-index", late + timedelta(seconds=s),
                     extra={"instance": f"node-{s}"}) for s in range(0, 40, 10)]
    deliveries.append(Delivery(late, "alertmanager", am_body(*disk), len(deliveries)))
    deliveries.sort(key=lambda d: (d.at, d.line))
    return Recording(deliveries, Topology.parse_yaml(sc.topology_yaml), sc.topology_yaml)


# --- botocore-level injection ----------------------------------------------------------------------------
class _Raw:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_: Any):
        yield self.data


def aws_error(url: str, status: int, body: dict[str, Any]) -> Any:
    from botocore.awsrequest import AWSResponse, HeadersDict

    return AWSResponse(url, status, HeadersDict({"content-type": "application/x-amz-json-1.0",
                                                 "x-amzn-requestid": "injected-fault"}), _Raw(json.dumps(body).encode()))


DDB = "com.amazonaws.dynamodb.v20120810#"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_current = threading.local()  # what the in-process Lambda on this thread is doing (set by a runner fault hook)


class LambdaCrash(RuntimeError):
    """The function died mid-batch (out of memory, timeout, a host failure): nothing after this point ran."""


@dataclass
class Fault:
    """One row of the fault table. `profile` names the fault-free run it is compared with."""

    name: str
    profile: str = "default"
    env: dict[str, str] = field(default_factory=dict)
    injected: Counter = field(default_factory=Counter)
    seed: int = 7

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate

    def setup(self, stack: LocalStack, doubles: Doubles) -> None:
        """Start injecting (after the stack started, before the first delivery)."""

    def stop(self, stack: LocalStack) -> None:
        """Stop injecting (before the harness reads the results)."""
        aws.remove_hooks()

    def check(self, stack: LocalStack, doubles: Doubles) -> dict[str, Any]:
        """What the fault should have left behind (breaker states, deliveries...)."""
        return {}


class NoFault(Fault):
    pass


class DynamoThrottle(Fault):
    def __init__(self, rate: float = 0.2):
        super().__init__("DynamoDB throttling (20% of requests)")
        self.rate = rate

    def setup(self, stack, doubles):
        def throttle(request, **_):
            if self.chance(self.rate):
                self.injected["throttled"] += 1
                return aws_error(request.url, 400, {"__type": DDB + "ProvisionedThroughputExceededException",
                                                    "message": "Rate of requests exceeds the allowed throughput"})
            return None

        aws.add_hook("before-send.dynamodb", throttle)


class DynamoConflicts(Fault):
    """Event-store transactions cancelled (TransactionConflict) and version-conditioned writes refused
    (ConditionalCheckFailed), as when other containers write the same items at the same moment."""

    def __init__(self, rate: float = 0.3):
        super().__init__("DynamoDB conditional-check storm (30% of conditional writes)")
        self.rate = rate

    def setup(self, stack, doubles):
        def transact(request, **_):
            items = json.loads(request.body)["TransactItems"]
            if self.chance(self.rate):
                self.injected["transaction conflicts"] += 1
                reasons = [{"Code": "None"}] * (len(items) - 1) + [
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
                return aws_error(request.url, 400, {
                    "__type": DDB + "TransactionCanceledException", "CancellationReasons": reasons,
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons"})
            return None

        def conditional(request, **_):
            body = json.loads(request.body)
            pk = (body.get("Item") or {}).get(n.PK, {}).get("S", "")
            if "ConditionExpression" in body and pk.startswith(("SCOPE#", "RESILIENCE#")) and self.chance(self.rate):
                self.injected["conditional checks failed"] += 1
                return aws_error(request.url, 400, {"__type": DDB + "ConditionalCheckFailedException",
                                                    "message": "The conditional request failed"})
            return None

        aws.add_hook("before-send.dynamodb.TransactWriteItems", transact)
        aws.add_hook("before-send.dynamodb.PutItem", conditional)


class KinesisPartial(Fault):
    def __init__(self, rate: float = 0.3):
        super().__init__("Kinesis PutRecords partial failures (30% of records)")
        self.rate = rate

    def setup(self, stack, doubles):
        import boto3

        raw = boto3.session.Session().client("kinesis", region_name=REGION, endpoint_url=stack.endpoint)

        def put_records(model, params, **_):
            from botocore.awsrequest import AWSResponse, HeadersDict

            body = json.loads(params["body"])
            records = body["Records"]
            refused = {i for i in range(len(records)) if self.chance(self.rate)}
            if not refused:
                return None
            self.injected["records refused"] += len(refused)
            kept = [r for i, r in enumerate(records) if i not in refused]
            written = iter(raw.put_records(StreamName=body["StreamName"], Records=[
                {"Data": base64.b64decode(r["Data"]), "PartitionKey": r["PartitionKey"]} for r in kept])["Records"]
                if kept else [])
            out = [{"ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": "Rate exceeded for shard shardId-000000000000"} if i in refused else next(written)
                   for i in range(len(records))]
            return (AWSResponse(params["url"], 200, HeadersDict({}), _Raw(b"")),
                    {"FailedRecordCount": len(refused), "Records": out, "ResponseMetadata": {"HTTPStatusCode": 200}})

        aws.add_hook("before-call.kinesis.PutRecords", put_records)


class DetectionCrash(Fault):
    def __init__(self, rate: float = 0.25):
        super().__init__("Lambda crashing mid-batch (detection, 1 in 4 batches)")
        self.rate = rate

    def setup(self, stack, doubles):
        fn = w.FUNCTIONS[n.F_DETECTION].physical_name(stack.stage)

        def arm(payload):
            """Decide for this invocation whether, and before which of its writes, the function dies."""
            batch = isinstance(payload, dict) and "Records" in payload
            _current.crash_at = self.rng.randint(1, 8) if batch and self.chance(self.rate) else None
            _current.writes = 0

        def crash(event_name, **_):
            op = event_name.rsplit(".", 1)[-1]
            if getattr(_current, "crash_at", None) is None or op not in WRITES:
                return
            _current.writes += 1
            if _current.writes == _current.crash_at:
                self.injected["crashes"] += 1
                raise LambdaCrash(f"detection died before its write #{_current.writes} ({op}) (injected)")

        stack.lambdas.faults[fn] = arm
        aws.add_hook("before-call.dynamodb", crash)

    def stop(self, stack):
        super().stop(stack)
        stack.lambdas.faults.clear()
        _current.crash_at = None


class DetectionOutage(Fault):
    def __init__(self, batches: int = 2):
        super().__init__(f"detection down past Lambda's retry cap ({batches} batches dead-lettered)")
        self.batches = batches

    def setup(self, stack, doubles):
        fn = w.FUNCTIONS[n.F_DETECTION].physical_name(stack.stage)
        failed: set[str] = set()

        def down(payload):
            """Every delivery of the first `batches` batches (by their first record) fails, retries included."""
            if not (isinstance(payload, dict) and payload.get("Records")):
                return None
            first = payload["Records"][0]["eventID"]
            if first in failed or len(failed) < self.batches:
                failed.add(first)
                self.injected["invocations failed"] += 1
                raise LambdaCrash("detection unavailable (injected)")
            return None

        stack.lambdas.faults[fn] = down

    def stop(self, stack):
        super().stop(stack)
        stack.lambdas.faults.clear()


class DuplicateBatches(Fault):
    def __init__(self):
        super().__init__("the same batch delivered twice")

    def setup(self, stack, doubles):
        invoke = stack.invoke

        def twice(key, payload):
            if key == n.F_DETECTION and "Records" in payload:
                self.injected["batches delivered twice"] += 1
                invoke(key, payload)
            return invoke(key, payload)

        stack.invoke = twice  # type: ignore[method-assign]

    def stop(self, stack):
        super().stop(stack)
        del stack.invoke


# --- doubles: Bedrock, OpenSearch, Slack / PagerDuty ------------------------------------------------------
def parrot(prompt: str) -> dict[str, Any]:
    """A stand-in model: proposes the evidence's top candidate, citing the alerts on its service."""
    head = json.loads(prompt.split("\n")[1])
    cands = head.get("candidates_from_evidence") or []
    if not cands:
        return {"hypotheses": []}
    top = cands[0]
    alerts = [json.loads(line) for line in prompt.split("\n")[3:] if line.startswith("{")]
    keys = [a["key"] for a in alerts if a.get("service") == top["service"]] or [a["key"] for a in alerts[:3]]
    return {"hypotheses": [{"category": top["category"], "service": top["service"], "confidence": 0.7,
                            "summary": "the evidence's strongest candidate", "alert_keys": keys[:10],
                            "causal_path": [top["service"]] if top["service"] else []}]}


class ScriptedBedrock(BedrockDouble):
    """Converse per model: ok | throttle | slow | malformed | down; InvokeModel (Titan) as the double does."""

    def __init__(self, behaviour: dict[str, str], slow_s: float = 1.5):
        super().__init__()
        self.behaviour, self.slow_s = behaviour, slow_s
        self.calls: Counter = Counter()

    def handle(self, method, url, body):
        m = re.fullmatch(r"/model/([^/]+)/converse", url.path)
        if not m:
            return super().handle(method, url, body)
        model = unquote(m.group(1))
        what = self.behaviour.get(model, "ok")
        self.calls[(model, what)] += 1
        if what == "throttle":
            return 429, {"__type": "ThrottlingException", "message": "Too many requests, please wait"}
        if what == "down":
            return 503, {"__type": "ServiceUnavailableException", "message": "Service unavailable"}
        if what == "slow":
            time.sleep(self.slow_s)
        doc = json.loads(body)
        text = "The database is probably the culprit." if what == "malformed" else \
            json.dumps(parrot(doc["messages"][0]["content"][0]["text"]))
        return 200, {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                     "stopReason": "end_turn", "usage": {"inputTokens": 100, "outputTokens": 50, "totalTokens": 150},
                     "metrics": {"latencyMs": 10}}


class FailingOpenSearch(OpenSearchDouble):
    def __init__(self, status: int | None = None):
        super().__init__()
        self.status, self.failed = status, 0

    def handle(self, method, url, body):
        if self.status:
            self.failed += 1
            return self.status, {"error": {"type": "unavailable", "reason": "injected"}, "status": self.status}
        return super().handle(method, url, body)


@dataclass
class Doubles:
    bedrock: ScriptedBedrock | None = None
    opensearch: FailingOpenSearch | None = None
    sink: HttpSink | None = None

    def close(self) -> None:
        for d in (self.bedrock, self.opensearch):
            if d is not None:
                d.__exit__(None, None, None)
        if self.sink is not None:
            self.sink.close()


def function_env(stack: LocalStack, key: str, extra: dict[str, str]) -> None:
    """Give one function more environment (before its first invocation, like a deploy)."""
    env = {**stack.function_env[key], **extra}
    stack.client("lambda").update_function_configuration(
        FunctionName=w.FUNCTIONS[key].physical_name(stack.stage), Environment={"Variables": env})
    stack.function_env[key] = env


PROFILES: dict[str, Callable[[LocalStack, Fault], Doubles]] = {}


def profile(name: str):
    def register(fn):
        PROFILES[name] = fn
        return fn
    return register


@profile("default")
def _default(stack: LocalStack, fault: Fault) -> Doubles:
    return Doubles()


@profile("bedrock")
def _bedrock(stack: LocalStack, fault: Fault) -> Doubles:
    """The LLM diagnoser on, over a primary and a fallback model."""
    behaviour = getattr(fault, "behaviour", {})
    double = ScriptedBedrock(behaviour).__enter__()
    function_env(stack, n.F_DIAGNOSE_LLM, {
        "IC_LLM_ENABLED": "true", "IC_LLM_ENDPOINT_URL": double.endpoint, "IC_LLM_MODEL_ID": PRIMARY,
        "IC_LLM_FALLBACK_MODELS": json.dumps([FALLBACK]), "IC_LLM_TIMEOUT_SECONDS": "1", **DOUBLE_CREDENTIALS})
    return Doubles(bedrock=double)


@profile("opensearch")
def _opensearch(stack: LocalStack, fault: Fault) -> Doubles:
    """The memory on OpenSearch Serverless with Titan embeddings (both doubles)."""
    os_double = FailingOpenSearch(getattr(fault, "status", None)).__enter__()
    bedrock = ScriptedBedrock({}).__enter__()
    function_env(stack, n.F_DIAGNOSE_MEMORY, {
        "IC_MEMORY_BACKEND": "opensearch", "IC_MEMORY_ENDPOINT": os_double.endpoint, "IC_MEMORY_EMBEDDER": "titan",
        "IC_MEMORY_DIMENSIONS": "256", "IC_LLM_ENDPOINT_URL": bedrock.endpoint, **DOUBLE_CREDENTIALS})
    return Doubles(bedrock=bedrock, opensearch=os_double)


@profile("notify")
def _notify(stack: LocalStack, fault: Fault) -> Doubles:
    """Escalations go to a Slack channel and a PagerDuty service (one loopback sink plays both)."""
    sink = HttpSink()
    sink.script = list(getattr(fault, "script", []))
    secret = w.SECRETS[n.SECRET_NOTIFY].physical_name(stack.stage)
    stack.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps(
        {"slack": {"oncall": f"{sink.url}/services/T0/B0/oncall"}, "pagerduty": {"primary": "R0UTINGKEY"}}))
    function_env(stack, n.F_ESCALATION, {"IC_RESILIENCE_PAGERDUTY_EVENTS_URL": f"{sink.url}/v2/enqueue"})
    return Doubles(sink=sink)


PROFILE_ENV = {
    "notify": {"IC_ESCALATION_LEVELS": json.dumps([{"name": "primary", "timeout_seconds": 900,
                                                    "contacts": ["slack:oncall", "pagerduty:primary", "oncall-a"]}]),
               "IC_RESILIENCE_BREAKERS": json.dumps({"slack": {"failure_threshold": 2, "open_seconds": 600},
                                                     "pagerduty": {"failure_threshold": 2, "open_seconds": 600}})},
    "opensearch": {"IC_RESILIENCE_BREAKERS": json.dumps({"opensearch": {"failure_threshold": 2,
                                                                        "open_seconds": 600}})},
}


class BedrockFault(Fault):
    def __init__(self, name: str, behaviour: dict[str, str]):
        super().__init__(name, "bedrock")
        self.behaviour = behaviour

    def check(self, stack, doubles):
        return {"bedrock calls": {f"{m.split('.')[0]} {w}": c for (m, w), c in doubles.bedrock.calls.items()},
                "circuits": circuits(stack), "health": health(stack)}


class OpenSearchDown(Fault):
    status = 503

    def __init__(self):
        super().__init__("OpenSearch 5xx (every request 503)", "opensearch")

    def check(self, stack, doubles):
        return {"opensearch requests refused": doubles.opensearch.failed, "circuits": circuits(stack)}


class NotifyFailing(Fault):
    def __init__(self):
        super().__init__("Slack / PagerDuty 429 and 5xx", "notify")
        self.script = [429, 503] * 50

    def check(self, stack, doubles):
        return {"notification requests": len(doubles.sink.requests), "circuits": circuits(stack),
                "deliveries recorded": deliveries(stack), "health": health(stack)}


def deliveries(stack: LocalStack) -> dict[str, int]:
    """What escalation.sent events recorded, by contact and outcome."""
    out: Counter = Counter()
    for s in states(stack):
        for e in _events(stack, s.incident_id):
            if e.type.value == "escalation.sent":
                out.update(f"{d['contact']} {'delivered' if d['delivered'] else 'failed'}"
                           for d in e.current_data()["deliveries"])
    return dict(out)


class NotifyHealthy(Fault):
    def __init__(self):
        super().__init__("none (Slack + PagerDuty answering)", "notify")

    def check(self, stack, doubles):
        return {"notification requests": len(doubles.sink.requests), "deliveries recorded": deliveries(stack)}


def health(stack: LocalStack) -> dict[str, Any]:
    """What `GET /health` (the API function) reports about the circuits and the model routing."""
    from incident_commander.local.player import Player

    status, body = Player(stack).api("GET", "/health")
    parts = body.get("components", {}) if isinstance(body, dict) else {}
    breakers = parts.get("circuit_breakers", {})
    return {"status": status, "circuit_breakers": breakers.get("status"),
            "circuits": {k: v["state"] for k, v in (breakers.get("detail") or {}).get("circuits", {}).items()},
            "bedrock_routing": parts.get("bedrock_routing", {}).get("status")}


def circuits(stack: LocalStack) -> dict[str, str]:
    from incident_commander.adapters.resilience_store import DynamoStateStore

    store = DynamoStateStore(w.TABLES[n.T_CONTROL].physical_name(stack.stage))
    return {name: doc["state"] for name, doc in store.list("breaker").items()}


# --- one run -----------------------------------------------------------------------------------------------
@dataclass
class Run:
    fault: str
    profile: str
    alerts_in: int
    refused: int  # deliveries the API never accepted, even after the sender's retries
    before_redrive: Accounting
    after: Accounting
    predictions: dict[str, Any]
    redriven: dict[str, int]  # dead-lettered batches and what redrive did with them
    injected: dict[str, int]
    checks: dict[str, Any]
    timelines: dict[str, list[dict[str, Any]]]
    seconds: float
    messages: int = 0  # alert messages accepted, repeats included (alerts_in counts distinct alerts)

    @property
    def incidents(self) -> int:
        return len(self.predictions["incidents"])


def _retry(fn: Callable[[], Any], attempts: int = 20) -> Any:
    for i in range(attempts):
        try:
            return fn()
        except Exception:  # noqa: BLE001 - the next scheduled tick / poll catches up
            if i == attempts - 1:
                raise
            time.sleep(0.05)
    return None


def operator_redrive(stack: LocalStack, counts: Counter) -> None:
    """What the operator paged by the failure queue's alarm does: `incident-commander redrive`."""
    from incident_commander.local.redrive import redrive

    url = stack.queue_urls[n.Q_DETECTION_FAILURES]
    sqs = stack.client("sqs")
    if not int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"]):
        return
    report = redrive(sqs, stack.client("kinesis"), url)
    counts["batches dead-lettered"] += report.messages
    counts["records redriven"] += report.records
    counts["batches kept in the queue"] += len(report.kept)
    stack.pump.drain()


def deliver(stack: LocalStack, rec: Recording, counts: Counter, sender_attempts: int = 6
            ) -> tuple[list[tuple[str, str]], int]:
    """Every delivery through the API as a sender does it (retrying on 5xx), then drain and tick; a
    dead-lettered batch is redriven at once, as the operator its alarm pages would."""
    from incident_commander.local.player import Player

    player = Player(stack)
    stack.put_topology(rec.topology_text)
    accepted: list[tuple[str, str]] = []
    refused = 0
    for d in rec.deliveries:
        for _ in range(sender_attempts):
            player.clock.set(d.at)
            status, reply = player.api("POST", f"/alerts/{d.source}", d.body, d.at)
            if status < 500:
                break
        if status == 202:
            accepted += [(a.source, a.key) for a in parse(d.source, d.body, d.at)]
        else:
            refused += 1
        stack.pump.drain()
        _retry(lambda: operator_redrive(stack, counts))
        _retry(lambda at=d.at: player.tick(at))
    return accepted, refused


def settle(stack: LocalStack, rec: Recording) -> None:
    from incident_commander.local.player import Player

    player = Player(stack)
    cfg = DetectionConfig()
    last = max(d.at for d in rec.deliveries)
    _retry(lambda: player.flush(last, cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1))
    _retry(lambda: player.wait_for_workflows(timeout=120))
    # a workflow "rests" once its task token is stored; the escalation.sent event (after the notifications)
    # follows it by a moment
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = [e["name"] for e in player.executions() if e["status"] == "RUNNING"]
        if all(any(ev.type.value == "escalation.sent" for ev in _events(stack, i)) for i in waiting):
            return
        time.sleep(0.05)


def states(stack: LocalStack) -> list[Any]:
    from incident_commander.local.replay import incident_states

    return incident_states(stack.event_store())


def dead_lettered(stack: LocalStack) -> set[tuple[str, str]]:
    """Alerts whose stream records sit in the detection failure queue (read back from the stream)."""
    from incident_commander.detection.kinesis_batch import PoisonRecord, decode_record
    from incident_commander.local.redrive import failed_batches, read_range, release

    sqs, kinesis = stack.client("sqs"), stack.client("kinesis")
    url = stack.queue_urls[n.Q_DETECTION_FAILURES]
    batches = failed_batches(sqs, url)
    keys: set[tuple[str, str]] = set()
    try:
        for b in batches:
            for r in read_range(kinesis, b):
                try:
                    items = decode_record({"kinesis": {"sequenceNumber": r["SequenceNumber"],
                                                       "partitionKey": r["PartitionKey"],
                                                       "data": base64.b64encode(r["Data"]).decode()},
                                           "eventID": f"{b.shard_id}:{r['SequenceNumber']}"})
                except PoisonRecord:
                    continue
                keys |= {(i.source, i.key) for i in items}
    finally:
        release(sqs, url, batches)
    return keys


def accounting(stack: LocalStack, accepted: list[tuple[str, str]], opened: set[str]) -> Accounting:
    from incident_commander.adapters.detection_store import DynamoDetectionStore

    records = DynamoDetectionStore(w.TABLES[n.T_DETECTION].physical_name(stack.stage)).get_alerts(
        list(dict.fromkeys(accepted)))
    return account(accepted, records, opened, dead_lettered(stack))


def run(fault: Fault, rec: Recording) -> Run:
    from incident_commander.local.replay import predictions
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()  # a fresh account for every run (moto's state lives in the process)
    SHARED.reset()  # and the recording's own clock
    started = time.perf_counter()
    env = {**PROFILE_ENV.get(fault.profile, {}), **fault.env}
    redrives: Counter = Counter()
    with LocalStack(extra_env=env) as stack:
        doubles = PROFILES[fault.profile](stack, fault)
        scaled = _scale_botocore_backoff(BACKOFF_SCALE)
        try:
            fault.setup(stack, doubles)
            try:
                accepted, refused = deliver(stack, rec, redrives)
                settle(stack, rec)
            finally:
                fault.stop(stack)
            found = states(stack)
            before = accounting(stack, accepted, {s.incident_id for s in found})
            operator_redrive(stack, redrives)
            settle(stack, rec)
            found = states(stack)
            after = accounting(stack, accepted, {s.incident_id for s in found})
            checks = fault.check(stack, doubles)
            timelines = {s.incident_id: [{"type": e.type.value, **e.current_data()}
                                         for e in _events(stack, s.incident_id)
                                         if e.type.value in ("dependency.degraded", "agent.faulted", "escalation.sent",
                                                             "decision.made")] for s in found}
        finally:
            scaled()
            doubles.close()
    return Run(fault.name, fault.profile, len(set(accepted)), refused, before, after,
               predictions(found, rec.topology), dict(redrives), dict(fault.injected), checks, timelines,
               time.perf_counter() - started, len(accepted))


def _events(stack: LocalStack, incident_id: str) -> list[Any]:
    return stack.event_store().read(incident_id)


def _scale_botocore_backoff(scale: float) -> Callable[[], None]:
    import botocore.endpoint as endpoint

    real = endpoint.time

    class Scaled:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            real.sleep(seconds * scale)

    endpoint.time = Scaled()  # type: ignore[assignment]

    def restore() -> None:
        endpoint.time = real

    return restore


# --- comparing with the fault-free run ----------------------------------------------------------------------
def decision(incident: dict[str, Any]) -> tuple:
    return incident["decision"], incident["root_cause"]["category"], incident["root_cause"]["service"]


def decisions(preds: dict[str, Any]) -> dict[str, tuple]:
    return {i["id"]: decision(i) for i in preds["incidents"]}


def by_alerts(preds: dict[str, Any]) -> dict[frozenset, dict[str, Any]]:
    """Incidents by the alerts they hold: runs are compared on what was grouped, not on ids (an
    incident's id comes from its first alert's time, which a redelivery may change)."""
    return {frozenset(i["alert_keys"]): i for i in preds["incidents"]}


def regrouped(baseline: Run, r: Run) -> list[str]:
    """Incidents (ids of either run) whose alerts no incident of the other run holds exactly."""
    a, b = by_alerts(baseline.predictions), by_alerts(r.predictions)
    return sorted({b[k]["id"] for k in b.keys() - a.keys()} | {a[k]["id"] for k in a.keys() - b.keys()})


def changed(baseline: Run, r: Run) -> list[str]:
    """Incidents regrouped, or holding the same alerts with another decision or root cause."""
    a, b = by_alerts(baseline.predictions), by_alerts(r.predictions)
    return sorted(set(regrouped(baseline, r)) | {b[k]["id"] for k in b.keys() & a.keys() if decision(a[k]) != decision(b[k])})


def escalated_with_reason(r: Run, incident_ids: list[str]) -> bool:
    """Each changed incident escalated, and its timeline says which dependency failed and why."""
    d = decisions(r.predictions)
    return all(i in d and d[i][0] == "escalate" and any(
        e["type"] in ("dependency.degraded", "agent.faulted") for e in r.timelines.get(i, [])) for i in incident_ids)


# --- the fault table -------------------------------------------------------------------------------------
FAULTS: dict[str, Callable[[], Fault]] = {
    "ddb-throttle": DynamoThrottle,
    "ddb-conflicts": DynamoConflicts,
    "kinesis-partial": KinesisPartial,
    "crash": DetectionCrash,
    "outage": DetectionOutage,
    "duplicates": DuplicateBatches,
    "bedrock-throttle": lambda: BedrockFault("Bedrock primary model throttled (429)", {PRIMARY: "throttle"}),
    "bedrock-timeout": lambda: BedrockFault("Bedrock primary model times out", {PRIMARY: "slow"}),
    "bedrock-malformed": lambda: BedrockFault("Bedrock primary model answers malformed output", {PRIMARY: "malformed"}),
    "bedrock-down": lambda: BedrockFault("Bedrock: every model 503", {PRIMARY: "down", FALLBACK: "down"}),
    "opensearch-5xx": OpenSearchDown,
    "notify-5xx": NotifyFailing,
}
BASELINES: dict[str, Callable[[], Fault]] = {
    "default": lambda: NoFault("none"), "bedrock": lambda: Fault("none (LLM on, primary + fallback model)", "bedrock"),
    "opensearch": lambda: Fault("none (memory on OpenSearch + Titan)", "opensearch"), "notify": NotifyHealthy,
}


def row(r: Run, baseline: Run | None) -> dict[str, Any]:
    moved = changed(baseline, r) if baseline else []
    return {"fault": r.fault, "profile": r.profile, "alerts_in": r.alerts_in, "messages": r.messages, "refused": r.refused,
            "accounted": r.after.accounted, "unaccounted": [list(k) for k in r.after.unaccounted],
            "outcomes": r.after.summary(), "dead_lettered_before_redrive": r.before_redrive.counts.get("dead_letter", 0),
            "incidents": r.incidents, "decisions_changed": moved,
            "regrouped": regrouped(baseline, r) if baseline else [],
            "changed_escalated_with_reason": escalated_with_reason(r, moved), "injected": r.injected,
            "redrive": r.redriven, "checks": r.checks, "seconds": round(r.seconds, 1)}


DECIDING_PROFILES = {"bedrock", "opensearch"}  # profiles whose extra agent votes: they need their own baseline


def table(names: list[str], rec: Recording, shared_baseline: bool = False) -> list[dict[str, Any]]:
    """The fault-free run of each profile the faults need, then each fault, compared with it. With
    `shared_baseline`, profiles that do not change the diagnosis (notify) are compared with the default."""
    faults = [FAULTS[name]() for name in names]
    rows, baselines = [], {}
    base_of = {f.profile: f.profile if not shared_baseline or f.profile in DECIDING_PROFILES else "default"
               for f in faults}
    for prof in dict.fromkeys(["default", *base_of.values()]):
        baselines[prof] = run(BASELINES[prof](), rec)
        rows.append(row(baselines[prof], None))
    for f in faults:
        rows.append(row(run(f, rec), baselines[base_of[f.profile]]))
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="replay a storm under injected faults; print one JSON row per run")
    p.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of: {', '.join(FAULTS)}")
    p.add_argument("--small", action="store_true", help="a smaller storm (CI)")
    p.add_argument("--shared-baseline", action="store_true", help="compare notify faults with the default run")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args(argv)
    names = [x for x in args.faults.split(",") if x]
    unknown = [x for x in names if x not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s): {', '.join(unknown)}")
    rows = table(names, storm(pods=4, resends=3) if args.small else storm(), args.shared_baseline)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
