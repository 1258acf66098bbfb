"""The deployment described once: tables, streams, functions, event sources, state machine.

Both the CDK app (`cdk/`) and the embedded local stack (`incident_commander.local`) build from
these specs, and `tests/infrastructure/test_parity.py` proves the synthesised template and the
local deployment agree. Plain dataclasses, no AWS imports: safe to load in any function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import names as n

KeyType = Literal["S", "N"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    pk: Key
    sk: Key | None = None


@dataclass(frozen=True)
class TableSpec:
    key: str
    pk: Key
    sk: Key | None = None
    indexes: tuple[IndexSpec, ...] = ()
    stream: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None
    ttl_attribute: str | None = None
    global_table: bool = True  # replicated to the configured regions (TableV2 replicas)

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"


@dataclass(frozen=True)
class Ref:
    """An environment value that points at a resource: resolved to a name or ARN at deploy time."""

    kind: Literal["table", "stream", "state_machine", "bus", "queue", "secret", "collection", "bucket"]
    key: str
    attr: Literal["name", "arn", "url", "endpoint"] = "name"
    # What the function may do with it (AWS only; the CDK app grants exactly this). Empty = the kind's
    # default: table read_write, stream write, state_machine start, queue send, secret read, bus put,
    # collection read_write. Others: table read|write, stream read, state_machine respond|describe.
    access: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    key: str
    code_dir: str  # relative to the repository root
    handler: str = "handler.handler"
    memory_mb: int = 512
    timeout_s: int = 30
    env: dict[str, str | Ref] = field(default_factory=dict)
    description: str = ""
    # AWS only: an EventBridge schedule expression that invokes the function (locally the player ticks)
    schedule: str | None = None
    # AWS only: Bedrock model ids the function may invoke (InvokeModel/Converse); the CDK app grants exactly these
    bedrock_models: tuple[str, ...] = ()
    # AWS only: detail-types on the incident bus (source = APP) that invoke the function
    bus_events: tuple[str, ...] = ()

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key.replace('_', '-')}"


@dataclass(frozen=True)
class StreamSpec:
    key: str
    shards: int = 1

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"


@dataclass(frozen=True)
class QueueSpec:
    key: str

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"


@dataclass(frozen=True)
class StreamConsumerSpec:
    """A Kinesis event source mapping with the defaults every stream consumer must carry."""

    function: str
    stream: str
    on_failure_queue: str
    batch_size: int = 500
    # Lambda gathers records this long before invoking: each invocation saves every scope it touched
    # and appends once per incident it changed, so 5 s instead of 1 s cut the storm's write units by a
    # fifth (benchmarks/cost.py) for at most 4 s more before an incident opens, well inside
    # Alertmanager's own group_wait (30 s)
    max_batching_window_s: int = 5
    parallelization_factor: int = 2
    bisect_on_error: bool = True
    max_record_age_s: int = 3600
    retry_attempts: int = 3
    report_batch_item_failures: bool = True
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"


@dataclass(frozen=True)
class SecretSpec:
    """A Secrets Manager secret (AWS only): its value is a JSON object the operator fills in."""

    key: str
    description: str = ""
    generated_key: str | None = None  # deploy creates {generated_key: <random token>} as the first value

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"


@dataclass(frozen=True)
class CollectionSpec:
    """An OpenSearch Serverless vector collection (AWS only; locally the embedded memory stands in)."""

    key: str

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"  # 3-32 characters: a-z, 0-9 and '-'


@dataclass(frozen=True)
class TableStreamConsumerSpec:
    """A DynamoDB Streams event source mapping (same defaults as a Kinesis consumer)."""

    function: str
    table: str  # key of TABLES; the table must have a `stream`
    on_failure_queue: str
    batch_size: int = 100
    max_batching_window_s: int = 1
    bisect_on_error: bool = True
    max_record_age_s: int = 3600
    retry_attempts: int = 5
    report_batch_item_failures: bool = True
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"
    event_names: tuple[str, ...] = ("INSERT",)  # Lambda event filter on the record's eventName


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket (AWS: versioned, encrypted, public access blocked; locally a moto bucket)."""

    key: str
    description: str = ""

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"  # AWS: the CDK app lets CloudFormation make it unique


@dataclass(frozen=True)
class StateMachineSpec:
    key: str
    asl_file: str  # relative to the repository root
    # ASL placeholder (without ${}) -> function key; the only substitutions are ARNs
    function_arns: dict[str, str] = field(default_factory=dict)

    def physical_name(self, stage: str) -> str:
        return f"ic-{stage}-{self.key}"


# ------------------------------------------------------------------------------------------------
_COMMON_ENV: dict[str, str | Ref] = {
    n.ENV_EVENTS_TABLE: Ref("table", n.T_EVENTS),
    n.ENV_INCIDENTS_TABLE: Ref("table", n.T_INCIDENTS),
    n.ENV_CONTROL_TABLE: Ref("table", n.T_CONTROL),
    "POWERTOOLS_METRICS_NAMESPACE": "IncidentCommander",
}

TABLES: dict[str, TableSpec] = {
    n.T_EVENTS: TableSpec(n.T_EVENTS, Key(n.EVENTS_PK), Key(n.EVENTS_SK, "N"), stream="NEW_IMAGE",
                          ttl_attribute=n.TTL_ATTRIBUTE),
    n.T_INCIDENTS: TableSpec(
        n.T_INCIDENTS, Key(n.INCIDENTS_PK),
        indexes=(IndexSpec(n.INCIDENTS_LIST_INDEX, Key(n.INCIDENTS_LIST_PK), Key(n.INCIDENTS_LIST_SK)),
                 IndexSpec(n.INCIDENTS_CLOSED_INDEX, Key(n.INCIDENTS_CLOSED_PK), Key(n.INCIDENTS_CLOSED_SK))),
        ttl_attribute=n.TTL_ATTRIBUTE),
    # regional: only the home region's detection function reads its working state, beside the regional
    # stream (replica regions fail over reads of incidents, not detection); its writes are most of a
    # storm's, and a replica would bill each of them again
    n.T_DETECTION: TableSpec(n.T_DETECTION, Key(n.PK), Key(n.SK), ttl_attribute=n.TTL_ATTRIBUTE,
                             global_table=False),
    n.T_CONTROL: TableSpec(n.T_CONTROL, Key(n.PK), Key(n.SK), ttl_attribute=n.TTL_ATTRIBUTE),
    n.T_IDEMPOTENCY: TableSpec(n.T_IDEMPOTENCY, Key(n.IDEMPOTENCY_PK), ttl_attribute="expiration",
                               global_table=False),
}

STREAMS: dict[str, StreamSpec] = {n.S_ALERTS: StreamSpec(n.S_ALERTS, shards=1)}
QUEUES: dict[str, QueueSpec] = {n.Q_DETECTION_FAILURES: QueueSpec(n.Q_DETECTION_FAILURES),
                                n.Q_PUBLISHER_FAILURES: QueueSpec(n.Q_PUBLISHER_FAILURES)}
BUCKETS: dict[str, BucketSpec] = {n.B_ARCHIVE: BucketSpec(n.B_ARCHIVE, "archived events of closed incidents")}
SECRETS: dict[str, SecretSpec] = {n.SECRET_WEBHOOK_TOKENS: SecretSpec(
    n.SECRET_WEBHOOK_TOKENS, "Per-source webhook tokens for POST /alerts/{source}: {source: token}",
    generated_key="alertmanager"),
    n.SECRET_NOTIFY: SecretSpec(n.SECRET_NOTIFY, 'On-call channels for escalations: {"slack": {channel: webhook '
                                'URL}, "pagerduty": {service: Events API v2 routing key}}')}
COLLECTIONS: dict[str, CollectionSpec] = {n.C_MEMORY: CollectionSpec(n.C_MEMORY)}


# RAG memory: OpenSearch Serverless in AWS; locally the collection resolves to "" and the embedded store
# stands in (memory/factory.py: backend "auto" picks OpenSearch only when an endpoint is set)
_MEMORY_ENV: dict[str, str | Ref] = {"IC_MEMORY_ENDPOINT": Ref("collection", n.C_MEMORY, "endpoint")}


def _diagnoser(key: str, name: str, description: str, env: dict[str, str | Ref] | None = None,
               memory_mb: int = 512, bedrock_models: tuple[str, ...] = ()) -> FunctionSpec:
    return FunctionSpec(key, f"functions/{key}", env={**_COMMON_ENV, n.ENV_DIAGNOSER: name,
                                                       "POWERTOOLS_SERVICE_NAME": key, **(env or {})},
                        timeout_s=20, memory_mb=memory_mb, description=description, bedrock_models=bedrock_models)


# Bedrock models the functions may invoke in AWS (the config defaults: IC_MEMORY_* Titan v2, IC_LLM_MODEL_ID)
_EMBEDDING_MODELS = ("amazon.titan-embed-text-v2:0",)
_LLM_MODELS = ("anthropic.claude-3-5-haiku-20241022-v1:0",)


FUNCTIONS: dict[str, FunctionSpec] = {
    n.F_API: FunctionSpec(
        n.F_API, "functions/api", timeout_s=29, description="REST API: ingestion, incidents, decisions",
        env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_API,
             n.ENV_ALERT_STREAM: Ref("stream", n.S_ALERTS, access=("write", "describe")),  # describe: /health
             n.ENV_DETECTION_TABLE: Ref("table", n.T_DETECTION),
             n.ENV_STATE_MACHINE_ARN: Ref("state_machine", n.SM_INCIDENT_RESPONSE, "arn",
                                          access=("respond", "describe")),
             n.ENV_IDEMPOTENCY_TABLE: Ref("table", n.T_IDEMPOTENCY),
             n.ENV_WEBHOOK_SECRET: Ref("secret", n.SECRET_WEBHOOK_TOKENS),  # webhook tokens (api/auth.py)
             n.ENV_ARCHIVE_BUCKET: Ref("bucket", n.B_ARCHIVE, access=("read",))}),  # verify archived incidents
    n.F_DETECTION: FunctionSpec(
        n.F_DETECTION, "functions/detection", memory_mb=1024, timeout_s=60,
        description="Kinesis consumer: normalise, dedup, correlate, open incidents, start workflows",
        schedule="rate(1 minute)",  # ticks start incidents that settled while no alert arrived
        env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_DETECTION,
             n.ENV_DETECTION_TABLE: Ref("table", n.T_DETECTION),
             n.ENV_STATE_MACHINE_ARN: Ref("state_machine", n.SM_INCIDENT_RESPONSE, "arn")}),
    n.F_DIAGNOSE_RULES: _diagnoser(n.F_DIAGNOSE_RULES, "rules", "Diagnoser: evidence rules"),
    n.F_DIAGNOSE_TOPOLOGY: _diagnoser(n.F_DIAGNOSE_TOPOLOGY, "topology", "Diagnoser: topology localisation"),
    n.F_DIAGNOSE_MEMORY: _diagnoser(n.F_DIAGNOSE_MEMORY, "memory", "Diagnoser: similar past incidents (RAG memory)",
                                    env=_MEMORY_ENV, memory_mb=1024, bedrock_models=_EMBEDDING_MODELS),
    n.F_DIAGNOSE_LLM: _diagnoser(n.F_DIAGNOSE_LLM, "llm", "Diagnoser: Bedrock LLM (when IC_LLM_ENABLED)",
                                 env={"IC_LLM_ENABLED": "false"}, bedrock_models=_LLM_MODELS),
    n.F_LEARNING: FunctionSpec(n.F_LEARNING, "functions/learning", memory_mb=1024, timeout_s=60,
                               description="Learns a pattern from every resolved (or corrected) incident",
                               bus_events=(n.BUS_DETAIL_TYPE_RESOLVED,), bedrock_models=_EMBEDDING_MODELS,
                               env={**_COMMON_ENV, **_MEMORY_ENV, "POWERTOOLS_SERVICE_NAME": n.F_LEARNING}),
    n.F_CONSENSUS: FunctionSpec(n.F_CONSENSUS, "functions/consensus", description="Weighted consensus",
                                env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_CONSENSUS}),
    n.F_ESCALATION: FunctionSpec(n.F_ESCALATION, "functions/escalation",
                                 description="Stores the task token and notifies the on-call level",
                                 env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_ESCALATION,
                                      n.ENV_NOTIFY_SECRET: Ref("secret", n.SECRET_NOTIFY)}),
    n.F_RECORDER: FunctionSpec(n.F_RECORDER, "functions/recorder",
                               description="Records actions, monitoring and human outcomes",
                               env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_RECORDER}),
    n.F_STREAM_PUBLISHER: FunctionSpec(
        n.F_STREAM_PUBLISHER, "functions/stream_publisher", memory_mb=256,
        description="Events table stream -> one event per incident event on the incidents bus",
        env={"POWERTOOLS_SERVICE_NAME": n.F_STREAM_PUBLISHER, n.ENV_EVENT_BUS: Ref("bus", n.BUS_INCIDENTS)}),
    n.F_ARCHIVER: FunctionSpec(
        n.F_ARCHIVER, "functions/archiver", timeout_s=300, schedule="rate(1 hour)",
        description="Retention: closed incidents' events to S3, then a TTL on them",
        env={**_COMMON_ENV, "POWERTOOLS_SERVICE_NAME": n.F_ARCHIVER,
             n.ENV_ARCHIVE_BUCKET: Ref("bucket", n.B_ARCHIVE)}),
}

TABLE_STREAM_CONSUMERS: tuple[TableStreamConsumerSpec, ...] = (
    TableStreamConsumerSpec(function=n.F_STREAM_PUBLISHER, table=n.T_EVENTS, on_failure_queue=n.Q_PUBLISHER_FAILURES),
)

STREAM_CONSUMERS: tuple[StreamConsumerSpec, ...] = (
    StreamConsumerSpec(function=n.F_DETECTION, stream=n.S_ALERTS, on_failure_queue=n.Q_DETECTION_FAILURES),
)

STATE_MACHINE = StateMachineSpec(
    n.SM_INCIDENT_RESPONSE, "state_machines/incident_response.asl.json",
    function_arns={
        "DiagnoseRulesFunctionArn": n.F_DIAGNOSE_RULES,
        "DiagnoseTopologyFunctionArn": n.F_DIAGNOSE_TOPOLOGY,
        "DiagnoseMemoryFunctionArn": n.F_DIAGNOSE_MEMORY,
        "DiagnoseLlmFunctionArn": n.F_DIAGNOSE_LLM,
        "ConsensusFunctionArn": n.F_CONSENSUS,
        "EscalationFunctionArn": n.F_ESCALATION,
        "RecorderFunctionArn": n.F_RECORDER,
    },
)


def repo_root() -> Path:
    """The repository root (this file lives at layers/common/python/incident_commander/)."""
    return Path(__file__).resolve().parents[4]
