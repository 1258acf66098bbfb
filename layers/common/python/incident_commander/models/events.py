"""Incident events: the append-only facts an incident is folded from.

Every event type has a pydantic model for its data (`EventData`) with its own schema version. A
stored event records the version its data was written with; `StoredEvent.current_data()` upcasts
older data through `UPCASTERS` so the fold and the readers only ever see the current shape, while
the stored (hashed) bytes are never rewritten. The stored form (`StoredEvent`) carries the event's
sequence number and its place in the hash chain.

To change an event's shape incompatibly: bump its model's `schema_version` and register an
upcaster from the previous version. Adding an optional field with a default is compatible and
needs neither.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .diagnosis import Category, Decision, DecisionKind, Hypothesis

SCHEMA_VERSION = 1  # the version of events stored before versions were recorded per event


class EventData(BaseModel):
    """The data of one event type. `schema_version` changes only with an upcaster (see module doc)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently dropped
    schema_version: ClassVar[int] = 1


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
    ARCHIVED = "incident.archived"
    DEPENDENCY_DEGRADED = "dependency.degraded"  # a circuit, rate limit or fallback changed what was done


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


class IncidentOpened(EventData):
    scope: str
    title: str
    severity: str
    first_alert_at: datetime
    topology_version: str | None = None


class AlertsAttached(EventData):
    alerts: list[AlertRef] = Field(default_factory=list)
    deliveries: int = Field(0, ge=0, description="alert messages this event accounts for, repeats included")
    omitted: int = Field(0, ge=0, description="distinct alerts past the recording cap, counted not listed")


class AlertChange(BaseModel):
    key: str
    status: str
    at: datetime
    flapping: bool = False


class AlertsDetached(EventData):
    """Alerts regrouped into another incident before this one was diagnosed."""

    keys: list[str]
    to_incident: str
    reason: str = ""
    title: str | None = None  # the incident's new title, when the alert that named it moved away


class AlertsUpdated(EventData):
    changes: list[AlertChange]
    deliveries: int = 0


class SeverityChanged(EventData):
    previous: str
    severity: str
    reason: str = ""


class DiagnosisStarted(EventData):
    execution: str | None = None
    alert_count: int = 0


class HypothesesProposed(EventData):
    agent: str
    hypotheses: list[Hypothesis]
    duration_ms: float = 0.0
    note: str = ""


class AgentFaulted(EventData):
    agent: str
    reason: str
    kind: str = "error"  # error | timeout | byzantine | missing


class ConsensusReached(EventData):
    decision: Decision


class DecisionMade(EventData):
    kind: DecisionKind
    confidence: float
    category: Category | None = None
    service: str | None = None
    reason: str
    action: str | None = None


class NotificationDelivery(BaseModel):
    contact: str
    delivered: bool
    detail: str = ""


class EscalationSent(EventData):
    level: int
    level_name: str
    contacts: list[str]
    timeout_seconds: int
    reason: str = ""
    deliveries: list[NotificationDelivery] = Field(default_factory=list, description="what each contact's channel "
                                                   "did (Slack, PagerDuty); a failed one never blocks the escalation")


class DependencyDegraded(EventData):
    dependency: str = Field(description="e.g. bedrock:<model>, opensearch, slack")
    state: str = Field(description="open | half_open | rate_limited | failed | fallback")
    detail: str = ""
    effect: str = Field("", description="what the incident got instead (a fallback model, no LLM vote, ...)")


class EscalationTimedOut(EventData):
    level: int
    level_name: str


class EscalationUnanswered(EventData):
    levels_tried: int


class HumanResponse(EventData):
    by: str
    reason: str = ""
    reassign_to: str | None = None


class ActionRun(EventData):
    action: str | None
    target: str | None
    result: str
    dry_run: bool = True


class MonitoringStarted(EventData):
    reason: str


class Acknowledged(EventData):
    """Someone took ownership of the incident (MTTA ends here)."""

    by: str
    note: str = ""


class Mitigated(EventData):
    by: str
    how: str = ""


class Resolved(EventData):
    """The incident is over. `category`/`service` are the root cause a human confirmed; the
    `predicted_*` fields are what the commander had decided, so learning can score itself."""

    by: str
    category: Category | None = None
    service: str | None = None
    note: str = ""
    predicted_category: Category | None = None
    predicted_service: str | None = None


class Reopened(EventData):
    by: str
    reason: str = ""


class EventRepaired(EventData):
    """Events of one region's copy were rewritten from another region whose chain verifies."""

    region: str = Field(description="the region whose copy was damaged and has been repaired")
    source_region: str = Field(description="the region the good events were copied from")
    seqs: list[int] = Field(description="the sequence numbers rewritten (or removed, see `removed`)")
    removed: list[int] = Field(default_factory=list, description="events present only in the damaged copy")
    projection_restored: bool = False
    problem: str


class Archived(EventData):
    """Events 1..`events` were written to S3 and given a TTL; this event stays in the table and links
    the archive (its `head_hash` is this event's `prev_hash`) to the rest of the chain."""

    bucket: str
    key: str
    events: int = Field(ge=1)
    head_hash: str
    sha256: str = Field(description="SHA-256 of the archive object's bytes")
    expires_at: int = Field(description="epoch seconds given to the archived events' TTL attribute")


DATA_MODELS: dict[EventType, type[EventData]] = {
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
    EventType.ARCHIVED: Archived,
    EventType.DEPENDENCY_DEGRADED: DependencyDegraded,
}

# (type, version) -> function turning that version's data into the next version's
UPCASTERS: dict[tuple[EventType, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upcast(type_: EventType, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """`data` written at `version`, in the shape of the current schema version."""
    current = DATA_MODELS[type_].schema_version
    if version > current:
        raise ValueError(f"{type_} data has schema version {version}; this code reads up to {current}")
    while version < current:
        data = UPCASTERS[(type_, version)](data)
        version += 1
    return data


class NewEvent(BaseModel):
    """An event about to be appended: the caller's intent, before it has a place in the chain.

    Built from a raw dict, `data` is validated against the type's model (an error names the type
    and the field) and stored in its canonical JSON shape; `NewEvent.of` takes the model itself.
    """

    type: EventType
    data: dict[str, Any]
    at: datetime  # when it happened (event time; recording time during a replay)
    actor: str = Field(min_length=1)  # agent or human that caused it
    idempotency_key: str | None = Field(None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _data_matches_type(self) -> NewEvent:
        model = DATA_MODELS[self.type]
        try:
            self.data = model.model_validate(self.data).model_dump(mode="json")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "data"
            raise ValueError(f"{self.type} data: {where}: {first['msg']}") from None
        if self.at.tzinfo is None:
            raise ValueError(f"{self.type}: 'at' must be timezone-aware")
        return self

    @classmethod
    def of(cls, type_: EventType, data: EventData, at: datetime, actor: str,
           idempotency_key: str | None = None) -> NewEvent:
        expected = DATA_MODELS[type_]
        if not isinstance(data, expected):
            raise TypeError(f"{type_} carries {expected.__name__}, not {type(data).__name__}")
        if at.tzinfo is None:
            raise ValueError(f"{type_}: 'at' must be timezone-aware")
        # already validated by its model: skip validating it a second time on the hot path
        return cls.model_construct(type=type_, data=data.model_dump(mode="json"), at=at, actor=actor,
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

    def current_data(self) -> dict[str, Any]:
        """The data in the current schema version's shape (upcast when it was stored older)."""
        return upcast(self.type, self.schema_version, self.data)

    def typed_data(self) -> EventData:
        return DATA_MODELS[self.type].model_validate(self.current_data())
