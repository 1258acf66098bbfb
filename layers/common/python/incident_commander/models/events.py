"""Incident events: the append-only facts an incident is folded from.

Every event type has a pydantic model for its data and a schema version. The stored form of an
event (`StoredEvent`) carries its sequence number and its place in the hash chain.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from .diagnosis import Category, Decision, DecisionKind, Hypothesis

SCHEMA_VERSION = 1


class EventType(StrEnum):
    INCIDENT_OPENED = "incident.opened"
    ALERTS_ATTACHED = "alerts.attached"
    ALERTS_UPDATED = "alerts.updated"
    ALERTS_DETACHED = "alerts.detached"  # regrouped into another incident before diagnosis
    SEVERITY_CHANGED = "incident.severity_changed"
    DIAGNOSIS_STARTED = "diagnosis.started"
    HYPOTHESES_PROPOSED = "hypotheses.proposed"
    AGENT_FAULTED = "agent.faulted"
    CONSENSUS_REACHED = "consensus.reached"
    DECISION_MADE = "decision.made"
    ESCALATION_SENT = "escalation.sent"
    ESCALATION_TIMED_OUT = "escalation.timed_out"
    ESCALATION_UNANSWERED = "escalation.unanswered"
    HUMAN_APPROVED = "human.approved"
    HUMAN_REJECTED = "human.rejected"
    HUMAN_REASSIGNED = "human.reassigned"
    ACTION_RUN = "action.run"
    MONITORING_STARTED = "monitoring.started"
    ACKNOWLEDGED = "incident.acknowledged"
    MITIGATED = "incident.mitigated"
    RESOLVED = "incident.resolved"
    REOPENED = "incident.reopened"
    EVENT_REPAIRED = "event.repaired"


class GroupingReason(BaseModel):
    """Why an alert joined its incident."""

    rule: str  # e.g. "opened", "dedup", "topology", "time-window", "scope"
    score: float = 1.0
    detail: str = ""


class AlertRef(BaseModel):
    key: str
    source: str
    name: str
    service: str | None = None
    service_label: str | None = None
    status: str
    severity: str
    starts_at: datetime | None = None
    received_at: datetime
    title: str = ""
    reason: GroupingReason


class IncidentOpened(BaseModel):
    scope: str
    title: str
    severity: str
    first_alert_at: datetime
    topology_version: str | None = None


class AlertsAttached(BaseModel):
    alerts: list[AlertRef] = Field(default_factory=list)
    deliveries: int = Field(0, ge=0, description="alert messages this event accounts for, repeats included")
    omitted: int = Field(0, ge=0, description="distinct alerts past the recording cap, counted not listed")


class AlertChange(BaseModel):
    key: str
    status: str
    at: datetime
    flapping: bool = False


class AlertsDetached(BaseModel):
    """Alerts regrouped into another incident before this one was diagnosed."""

    keys: list[str]
    to_incident: str
    reason: str = ""


class AlertsUpdated(BaseModel):
    changes: list[AlertChange]
    deliveries: int = 0


class SeverityChanged(BaseModel):
    previous: str
    severity: str


class DiagnosisStarted(BaseModel):
    execution: str | None = None
    alert_count: int = 0


class HypothesesProposed(BaseModel):
    agent: str
    hypotheses: list[Hypothesis]
    duration_ms: float = 0.0
    note: str = ""


class AgentFaulted(BaseModel):
    agent: str
    reason: str
    kind: str = "error"  # error | timeout | byzantine | missing


class ConsensusReached(BaseModel):
    decision: Decision


class DecisionMade(BaseModel):
    kind: DecisionKind
    confidence: float
    category: Category | None = None
    service: str | None = None
    reason: str
    action: str | None = None


class EscalationSent(BaseModel):
    level: int
    level_name: str
    contacts: list[str]
    timeout_seconds: int
    reason: str = ""


class EscalationTimedOut(BaseModel):
    level: int
    level_name: str


class EscalationUnanswered(BaseModel):
    levels_tried: int


class HumanResponse(BaseModel):
    by: str
    reason: str = ""
    reassign_to: str | None = None


class ActionRun(BaseModel):
    action: str | None
    target: str | None
    result: str
    dry_run: bool = True


class MonitoringStarted(BaseModel):
    reason: str


class Acknowledged(BaseModel):
    by: str


class Mitigated(BaseModel):
    by: str
    how: str = ""


class Resolved(BaseModel):
    by: str
    category: Category | None = None
    service: str | None = None
    note: str = ""


class Reopened(BaseModel):
    by: str
    reason: str = ""


class EventRepaired(BaseModel):
    seq: int
    source_region: str
    problem: str


DATA_MODELS: dict[EventType, type[BaseModel]] = {
    EventType.INCIDENT_OPENED: IncidentOpened,
    EventType.ALERTS_ATTACHED: AlertsAttached,
    EventType.ALERTS_UPDATED: AlertsUpdated,
    EventType.ALERTS_DETACHED: AlertsDetached,
    EventType.SEVERITY_CHANGED: SeverityChanged,
    EventType.DIAGNOSIS_STARTED: DiagnosisStarted,
    EventType.HYPOTHESES_PROPOSED: HypothesesProposed,
    EventType.AGENT_FAULTED: AgentFaulted,
    EventType.CONSENSUS_REACHED: ConsensusReached,
    EventType.DECISION_MADE: DecisionMade,
    EventType.ESCALATION_SENT: EscalationSent,
    EventType.ESCALATION_TIMED_OUT: EscalationTimedOut,
    EventType.ESCALATION_UNANSWERED: EscalationUnanswered,
    EventType.HUMAN_APPROVED: HumanResponse,
    EventType.HUMAN_REJECTED: HumanResponse,
    EventType.HUMAN_REASSIGNED: HumanResponse,
    EventType.ACTION_RUN: ActionRun,
    EventType.MONITORING_STARTED: MonitoringStarted,
    EventType.ACKNOWLEDGED: Acknowledged,
    EventType.MITIGATED: Mitigated,
    EventType.RESOLVED: Resolved,
    EventType.REOPENED: Reopened,
    EventType.EVENT_REPAIRED: EventRepaired,
}


class NewEvent(BaseModel):
    """An event about to be appended: the caller's intent, before it has a place in the chain."""

    type: EventType
    data: dict[str, Any]
    at: datetime  # when it happened (event time; recording time during a replay)
    actor: str  # agent or human that caused it
    idempotency_key: str | None = None

    @classmethod
    def of(cls, type_: EventType, data: BaseModel, at: datetime, actor: str,
           idempotency_key: str | None = None) -> NewEvent:
        expected = DATA_MODELS[type_]
        if not isinstance(data, expected):
            raise TypeError(f"{type_} carries {expected.__name__}, not {type(data).__name__}")
        return cls(type=type_, data=data.model_dump(mode="json", exclude_none=False), at=at, actor=actor,
                   idempotency_key=idempotency_key)


class StoredEvent(BaseModel):
    incident_id: str
    seq: int = Field(ge=1)
    type: EventType
    schema_version: int = SCHEMA_VERSION
    at: datetime
    recorded_at: datetime
    actor: str
    data: dict[str, Any]
    idempotency_key: str | None = None
    prev_hash: str
    hash: str

    def typed_data(self) -> BaseModel:
        return DATA_MODELS[self.type].model_validate(self.data)
