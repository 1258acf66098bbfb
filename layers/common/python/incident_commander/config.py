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
        if raw[:1] in "[{" or "list" in annotation or "dict" in annotation:
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
    max_open_incidents: int = Field(500, ge=1, description="open incidents tracked per scope; the oldest close past it")


class ConsensusConfig(BaseModel):
    auto_threshold: float = Field(0.8, ge=0, le=1, description="confidence needed to act without a human")
    monitor_threshold: float = Field(0.5, ge=0, le=1)
    quorum: int = Field(2, ge=1, description="healthy votes needed for any decision but escalate")
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


class Settings(BaseModel):
    stage: str = "local"
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    impact: ImpactConfig = Field(default_factory=ImpactConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            stage=env.get("IC_STAGE", "local"),
            detection=load_section(DetectionConfig, "IC_DETECTION_", env),
            consensus=load_section(ConsensusConfig, "IC_CONSENSUS_", env),
            escalation=load_section(EscalationConfig, "IC_ESCALATION_", env),
            impact=load_section(ImpactConfig, "IC_IMPACT_", env),
        )
