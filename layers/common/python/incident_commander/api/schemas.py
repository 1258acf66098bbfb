"""Request and response bodies of the API. They generate the OpenAPI document (`GET /openapi.json`);
requests are validated against them by the resolver, responses are checked against them by the
schemathesis run in the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..impact import Impact
from ..metrics import IncidentMetrics
from ..models.diagnosis import Decision, Hypothesis

StageState = Literal["pending", "active", "done"]


class ErrorBody(BaseModel):
    error: str = Field(description="what is wrong, naming the field or resource")
    field: str | None = Field(None, description="the request field at fault, when there is one")


class RootCause(BaseModel):
    category: str
    service: str | None = None


class Stage(BaseModel):
    stage: Literal["detection", "diagnosis", "consensus", "decision"]
    state: StageState
    detail: str = ""


class IncidentSummary(BaseModel):
    id: str
    title: str
    status: str
    severity: str
    scope: str
    services: list[str]
    opened_at: datetime | None = None
    first_alert_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    alerts: int = Field(description="distinct alerts")
    deliveries: int = Field(description="alert messages received, repeats included")
    decision: str | None = None
    confidence: float | None = None
    root_cause: RootCause | None = None
    stage: str = Field(description="the pipeline stage the incident is in")
    mttr_seconds: float | None = Field(None, description="impact start to resolution, or to now while open")
    cost_per_minute: float
    cost_so_far: float
    users_affected: int
    version: int


class AlertDetail(BaseModel):
    key: str
    source: str
    name: str
    service: str | None = None
    label: str | None = None
    status: str
    severity: str
    starts_at: datetime | None = None
    received_at: datetime | None = None
    deliveries: int
    flapping: bool
    grouped_because: dict[str, Any] = Field(description="the rule that grouped it, its score and an explanation")


class Escalation(BaseModel):
    level: int
    open: bool


class IncidentDetail(IncidentSummary):
    now: datetime = Field(description="the server's clock when this was computed (for live clocks)")
    alerts_detail: list[AlertDetail]
    alerts_omitted: int
    hypotheses: dict[str, list[Hypothesis]] = Field(description="agent -> its ranked hypotheses")
    faults: list[dict[str, Any]]
    decision_detail: Decision | None = None
    escalation: Escalation | None = None
    human: dict[str, Any] | None = None
    impact: Impact
    confirmed_root_cause: dict[str, Any] | None = None
    pipeline: list[Stage]
    metrics: IncidentMetrics = Field(description="time to detect / acknowledge / mitigate / resolve (metrics.py)")


class IncidentList(BaseModel):
    now: datetime
    incidents: list[IncidentSummary]
    cursor: str | None = Field(None, description="pass as ?cursor= for the next page; absent on the last")


class TimelineEvent(BaseModel):
    seq: int
    type: str
    at: datetime
    recorded_at: datetime
    actor: str
    data: dict[str, Any]
    hash: str
    prev_hash: str


class Timeline(BaseModel):
    incident_id: str
    verified: bool
    verification: dict[str, Any]
    events: list[TimelineEvent]


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject", "reassign"]
    reason: str = Field("", max_length=2000)
    level: int | None = Field(None, ge=0, le=20, description="reassign: the escalation level to hand over to")


class DecisionReply(BaseModel):
    incident_id: str
    decision: str
    by: str
    level: int


class Me(BaseModel):
    name: str
    role: Literal["viewer", "responder", "admin"]
    via: Literal["cognito", "iam", "local"]
    auth_mode: Literal["aws", "local"]
    may: list[str] = Field(description="the roles this caller holds (each includes the ones below it)")


class ComponentHealth(BaseModel):
    status: Literal["ok", "degraded", "error", "not_configured"]
    detail: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    components: dict[str, ComponentHealth]


class ScenarioInfo(BaseModel):
    name: str
    title: str
    complexity: str
    impact_per_minute: float
    duration_seconds: float
    deliveries: int
    sources: list[str]
    expected_root_cause: RootCause


class ScenarioCatalog(BaseModel):
    enabled: bool
    scenarios: list[ScenarioInfo]
    runs: list[dict[str, Any]] = Field(description="recent runs: who started which scenario when")


class ScenarioRequest(BaseModel):
    speed: float = Field(1.0, ge=1, le=1000, description="recording seconds per second: compresses the storm")


class ScenarioRun(BaseModel):
    run_id: str
    scenario: str
    by: str
    started_at: datetime = Field(description="when the storm's first alert fired")
    ended_at: datetime = Field(description="when its last alert arrived (now: the storm is delivered as history)")
    deliveries: int
    accepted_alerts: int
    expected_root_cause: RootCause


def errors(*codes: int) -> dict[int, dict[str, Any]]:
    """OpenAPI responses for error statuses, all with the ErrorBody shape."""
    text = {400: "Bad input: the message names the field", 401: "Not authenticated",
            403: "Authenticated but not allowed (role too low, or the feature is disabled)",
            404: "No such incident, scenario or route", 409: "Conflicts with the incident's state",
            413: "Body too large", 429: "Too many requests (API Gateway throttling)"}
    return {c: {"description": text[c], "content": {"application/json": {"model": ErrorBody}}} for c in codes}


def ok(model: type[BaseModel], description: str, status: int = 200) -> dict[int, dict[str, Any]]:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}
