"""Runtime configuration, validated once at cold start from `IC_*` environment variables.

Each section is a pydantic model; a field `foo` of DetectionConfig is read from `IC_DETECTION_FOO`
(JSON for lists and objects). Defaults are what a production deployment starts with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """Raised at cold start when an IC_* variable is invalid; names the variable."""


def load_section(model: type[M], prefix: str, environ: Mapping[str, str] | None = None) -> M:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, field_info in model.model_fields.items():
        var = f"{prefix}{name.upper()}"
        if var not in env:
            continue
        raw = env[var]
        annotation = str(field_info.annotation)
        if raw[:1] in ("[", "{") or "list" in annotation or "dict" in annotation:  # "" is no JSON
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{var}: not valid JSON ({exc.msg})") from exc
        else:
            values[name] = raw
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        var = f"{prefix}{str(first['loc'][0]).upper()}" if first["loc"] else prefix
        raise ConfigError(f"{var}: {first['msg']}") from exc


class DetectionConfig(BaseModel):
    """How alerts become incidents. Times are event time (the alerts' own clock), in seconds."""

    window_seconds: int = Field(900, ge=10, description="an incident accepts related alerts this long after its last one")
    settle_quiet_seconds: int = Field(90, ge=0, description="diagnose once no new alert joined for this long")
    settle_max_seconds: int = Field(300, ge=0, description="...or at the latest this long after opening")
    open_min_alerts: int = Field(1, ge=1, description="open an incident only after N alerts")
    open_min_seconds: int = Field(0, ge=0, description="...or once its first alert has lasted M seconds")
    severity_floor: Literal["info", "low", "medium", "high", "critical"] = Field(
        "low", description="alerts below this severity are recorded as noise (heartbeats, info)")
    flap_window_seconds: int = Field(900, ge=0)
    flap_threshold: int = Field(3, ge=2, description="state changes inside the window that make an alert flapping")
    max_alerts_recorded: int = Field(500, ge=10, description="alerts kept per incident in the timeline; counts stay exact")
    max_alerts_sampled: int = Field(200, ge=0, description="past that, alerts bringing a new service or name")
    # Alertmanager's own group_interval: each write is an append (event, projection, marker in one
    # transaction, replicated), and one a minute per incident was a third of the storm's write units
    count_flush_seconds: int = Field(300, ge=0, description="repeats alone update the timeline's counts, and alerts "
                                                           "joining after diagnosis are listed, at most this often "
                                                           "(always before diagnosis); 0: every batch")
    list_seconds: int = Field(30, ge=0, description="alerts joining an open incident before its diagnosis are listed "
                                                     "in its timeline at most this often (its opening, a status change "
                                                     "and diagnosis list them at once); 0: with the batch that brings them")
    max_open_incidents: int = Field(500, ge=1, description="open incidents tracked per scope; the oldest close past it")


class ConsensusConfig(BaseModel):
    auto_threshold: float = Field(0.8, ge=0, le=1, description="confidence needed to act without a human")
    monitor_threshold: float = Field(0.5, ge=0, le=1)
    quorum: int = Field(2, ge=1, description="healthy votes needed for any decision but escalate")
    agent_timeout_seconds: int = Field(20, ge=1, le=300,
                                       description="a diagnoser that has not answered by then is a missing vote")
    max_weight_share: float = Field(0.5, gt=0, le=1, description="no agent carries more than this share of the vote")
    allowed_actions: list[str] = Field(default_factory=lambda: [
        "restart_service", "scale_out", "rollback_deploy", "clear_disk", "enable_rate_limit"])
    tier_thresholds: dict[str, float] = Field(default_factory=lambda: {"critical": 0.9, "high": 0.85})


class EscalationLevel(BaseModel):
    name: str
    contacts: list[str] = Field(default_factory=list)
    timeout_seconds: int = Field(900, ge=1)


class EscalationConfig(BaseModel):
    heartbeat_seconds: int | None = Field(None, ge=1)
    levels: list[EscalationLevel] = Field(default_factory=lambda: [
        EscalationLevel(name="primary-oncall", contacts=["oncall-primary"], timeout_seconds=900),
        EscalationLevel(name="secondary-oncall", contacts=["oncall-secondary"], timeout_seconds=900),
        EscalationLevel(name="engineering-manager", contacts=["eng-manager"], timeout_seconds=1800),
    ])


Share = Annotated[float, Field(ge=0, le=1)]


class ImpactConfig(BaseModel):
    """Business impact (impact.py): what share of a service's value each symptom removes, and weights."""

    degradation: dict[str, Share] = Field(default_factory=lambda: {
        "no_traffic": 1.0, "crashloop": 0.9, "not_ready": 0.8, "oom": 0.8, "auth": 0.7, "errors": 0.6,
        "attack": 0.6, "disk": 0.6, "database": 0.5, "network": 0.5, "connections": 0.5, "latency": 0.3,
        "throttling": 0.3, "traffic_spike": 0.3, "queue": 0.3, "memory": 0.2, "cpu": 0.2},
        description="symptom -> share of a service's revenue and users lost while an alert shows it")
    default_degradation: float = Field(0.4, ge=0, le=1, description="for symptoms not in the map")
    severity_factor: dict[str, Share] = Field(default_factory=lambda: {
        "critical": 1.0, "high": 0.8, "medium": 0.6, "low": 0.3, "info": 0.0})
    tier_factor: dict[str, Share] = Field(default_factory=lambda: {
        "critical": 1.0, "high": 0.9, "medium": 0.75, "low": 0.5})
    propagation: float = Field(0.5, ge=0, le=1, description="share of a dependency's degradation its callers feel")


class MemoryConfig(BaseModel):
    """RAG memory: where patterns live and how text becomes vectors (IC_MEMORY_*)."""

    backend: Literal["auto", "embedded", "opensearch"] = Field(
        "auto", description="auto: OpenSearch Serverless when an endpoint is set, else the embedded store")
    path: str = Field(":memory:", description="the embedded store's SQLite file (:memory: = per process)")
    embedder: Literal["auto", "local", "titan", "hashing"] = Field(
        "auto", description="auto: Titan v2 with OpenSearch, the offline all-MiniLM-L6-v2 otherwise")
    dimensions: int = Field(512, description="Titan v2 output size (256, 512 or 1024); the local model is 384")
    endpoint: str = Field("", description="OpenSearch Serverless collection endpoint (backend=opensearch)")
    index: str = "incident-memory"
    keyword_weight: float = Field(0.3, ge=0, le=1, description="fusion weight of the keyword query")
    top_k: int = Field(8, ge=1, le=50, description="patterns retrieved per diagnosis")
    seed_knowledge: bool = Field(True, description="load the packaged failure-mode knowledge base when empty")


class LlmConfig(BaseModel):
    """Bedrock LLM diagnoser (IC_LLM_*): off unless enabled."""

    enabled: bool = False
    model_id: str = "anthropic.claude-3-5-haiku-20241022-v1:0"
    timeout_seconds: float = Field(8.0, gt=0, le=60, description="strict read timeout of one Converse call")
    max_prompt_tokens: int = Field(3000, ge=500, le=50_000, description="hard budget for the prompt")
    max_output_tokens: int = Field(800, ge=100, le=4000)
    endpoint_url: str = Field("", description="override the bedrock-runtime endpoint (tests, VPC endpoints)")
    fallback_models: list[str] = Field(default_factory=list, description="JSON list: models tried in order when "
                                       "model_id is throttled, failing, slow or its circuit is open")
    latency_budget_ms: float = Field(6000, gt=0, description="a reply slower than this counts against the model")


class StoreConfig(BaseModel):
    """The event store (store/, adapters/dynamodb.py). Read from IC_<FIELD>, e.g. IC_REPLICA_REGIONS."""

    replica_regions: list[Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]] = Field(
        default_factory=list, description='JSON list, e.g. ["us-west-2"]: reads fail over to these replicas')
    retention_days: int = Field(90, ge=1, description="archive and expire events this long after resolution")
    archive_bucket: str = Field("", description="S3 bucket of archived events (empty: no archiving)")


class BreakerSettings(BaseModel):
    failure_threshold: int = Field(5, ge=1, description="failures inside the window that open the circuit")
    window_seconds: float = Field(60, gt=0)
    open_seconds: float = Field(30, gt=0, description="how long an open circuit refuses calls before probing")
    half_open_probes: int = Field(2, ge=1, description="probe calls let through; that many successes close it")


# a model call is slow and costly: fewer failures open it, it stays open longer, one probe tests it
DEPENDENCY_BREAKERS = {"bedrock": BreakerSettings(failure_threshold=3, open_seconds=60, half_open_probes=1)}


class RateLimit(BaseModel):
    capacity: float = Field(gt=0, description="burst: tokens the bucket holds")
    per_second: float = Field(gt=0, description="refill rate")


class ModelLimit(BaseModel):
    """Placeholders sized for one commander, not AWS's quotas: set your account's (Service Quotas)."""

    requests_per_minute: float = Field(100, gt=0)
    tokens_per_minute: float = Field(200_000, gt=0, description="input + output tokens")


class ResilienceConfig(BaseModel):
    """Breakers, rate limits and memory pressure (IC_RESILIENCE_*); see the README, "Resilience"."""

    breaker: BreakerSettings = Field(default_factory=BreakerSettings, description="every circuit's default")
    breakers: dict[str, BreakerSettings] = Field(default_factory=dict, description="per dependency (the circuit "
                                                 "name's prefix before ':'), e.g. bedrock, opensearch, slack, "
                                                 "pagerduty; over DEPENDENCY_BREAKERS, then `breaker`")
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict, description="per service, overriding the "
                                              "documented defaults (slack 1/s per channel, pagerduty 120/min per key)")
    model_limits: dict[str, ModelLimit] = Field(default_factory=dict, description="per Bedrock model id (your "
                                                "account's quotas); models not listed get ModelLimit()")
    wait_budget_seconds: float = Field(2.0, ge=0, le=30, description="how long a caller waits for a rate-limit "
                                       "token before taking its fallback")
    pagerduty_events_url: str = Field("https://events.pagerduty.com/v2/enqueue",
                                      description="PagerDuty Events API v2 endpoint (EU accounts: events.eu...)")
    memory_guard: bool = Field(True, description="watch the function's own memory (off locally, where every "
                               "function shares one process)")
    memory_soft_ratio: float = Field(0.70, gt=0, lt=1, description="detection degrades past this share of its "
                                     "memory limit (harder sampling, no optional work)")
    memory_hard_ratio: float = Field(0.85, gt=0, lt=1, description="...and past this defers the rest of a batch")

    def breaker_for(self, name: str) -> BreakerSettings:
        dep = name.split(":", 1)[0]
        return self.breakers.get(dep) or DEPENDENCY_BREAKERS.get(dep) or self.breaker


class RetryConfig(BaseModel):
    """botocore's retries for every AWS client (IC_RETRY_*), set once in adapters/aws.py."""

    mode: Literal["standard", "adaptive"] = Field("standard", description="adaptive also rate-limits the client "
                                                  "itself after throttling")
    max_attempts: int = Field(5, ge=1, le=20, description="attempts per call, the first included")
    connect_timeout: float = Field(3, gt=0)
    read_timeout: float = Field(10, gt=0)


class Settings(BaseModel):
    stage: str = "local"
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    impact: ImpactConfig = Field(default_factory=ImpactConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            stage=env.get("IC_STAGE", "local"),
            detection=load_section(DetectionConfig, "IC_DETECTION_", env),
            consensus=load_section(ConsensusConfig, "IC_CONSENSUS_", env),
            escalation=load_section(EscalationConfig, "IC_ESCALATION_", env),
            impact=load_section(ImpactConfig, "IC_IMPACT_", env),
            memory=load_section(MemoryConfig, "IC_MEMORY_", env),
            llm=load_section(LlmConfig, "IC_LLM_", env),
            store=load_section(StoreConfig, "IC_", env),
            resilience=load_section(ResilienceConfig, "IC_RESILIENCE_", env),
            retry=load_section(RetryConfig, "IC_RETRY_", env),
        )
