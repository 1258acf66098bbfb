"""Hypotheses, votes and decisions: what diagnosers propose and what consensus decides."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Category(StrEnum):
    """The root-cause taxonomy of the replay contract."""

    RESOURCE_EXHAUSTION = "resource_exhaustion"
    TRAFFIC_SURGE = "traffic_surge"
    SECURITY_ATTACK = "security_attack"
    DEPENDENCY_FAILURE = "dependency_failure"
    BAD_DEPLOY_OR_CONFIG = "bad_deploy_or_config"
    NETWORK = "network"
    STORAGE_FAILURE = "storage_failure"
    CAPACITY_OR_QUOTA = "capacity_or_quota"
    AUTH_OR_CREDENTIAL = "auth_or_credential"
    APPLICATION_ERROR = "application_error"
    PLATFORM_MISCONFIG = "platform_misconfig"


class DecisionKind(StrEnum):
    AUTO_REMEDIATE = "auto_remediate"
    MONITOR = "monitor"
    ESCALATE = "escalate"


class Evidence(BaseModel):
    kind: str = Field(description="alert | symptom | topology | past_incident | metric | llm")
    ref: str = Field(description="what it points at: an alert key, a service, an incident id")
    detail: str = ""
    weight: float = Field(1.0, ge=0, le=10)
    supports: bool = True  # False: evidence against the hypothesis


class Hypothesis(BaseModel):
    category: Category
    service: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str = ""
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    causal_path: list[str] = Field(default_factory=list, max_length=20)
    action: str | None = None  # the remediation this hypothesis suggests


class Vote(BaseModel):
    """One agent's answer: ranked hypotheses, or the reason it has none."""

    agent: str
    hypotheses: list[Hypothesis] = Field(default_factory=list, max_length=10)
    error: str | None = None
    duration_ms: float = 0.0


class WeightedVote(BaseModel):
    agent: str
    weight: float
    category: Category | None = None
    service: str | None = None
    confidence: float = 0.0
    excluded: str | None = None  # why the vote was not counted
    fault: str | None = None  # failed | malformed | out_of_bounds | self_contradictory | fabricated_evidence | outlier
    outlier: bool = False  # counted, but its top choice went against a supermajority


class Decision(BaseModel):
    kind: DecisionKind
    confidence: float = Field(ge=0.0, le=1.0)
    root_cause: Hypothesis | None = None
    ranked: list[Hypothesis] = Field(default_factory=list, max_length=10)
    margin: float = 0.0
    agreement: float = 0.0  # share of the healthy vote weight whose top choice is the root cause
    reason: str
    action: str | None = None
    votes: list[WeightedVote] = Field(default_factory=list)
