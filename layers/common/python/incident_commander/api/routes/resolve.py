"""The human side of an incident's life: acknowledge, change severity, mark mitigated, resolve, reopen.

Each appends one event through `append_with_retry`, deciding on the current projection, so two
people resolving at once record one resolution (the other gets 409), and a retried request does
not record twice. `incident.resolved` carries the confirmed root cause and what the commander had
predicted; the learning agent consumes it from the change stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ...models.alert import Severity
from ...models.diagnosis import Category
from ...models.events import (
    Acknowledged,
    EventData,
    EventType,
    Mitigated,
    NewEvent,
    Reopened,
    Resolved,
    SeverityChanged,
)
from ...models.incident import IncidentState, IncidentStatus
from ...store.port import append_with_retry
from ...timeutil import iso
from ..context import ApiContext, ApiError, json_response
from ..roles import Role
from ..schemas import errors, ok
from .incidents import IncidentId

Note = Field("", max_length=4000)


class ResolveRequest(BaseModel):
    category: Category = Field(description="the confirmed root-cause category")
    service: str = Field(min_length=1, max_length=200, description="the service where the root cause was")
    note: str = Note


class AcknowledgeRequest(BaseModel):
    note: str = Note


class MitigatedRequest(BaseModel):
    how: str = Note


class ReopenRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class SeverityRequest(BaseModel):
    severity: Severity
    reason: str = Note


class LifecycleReply(BaseModel):
    incident_id: str
    event: str = Field(description="the event type recorded")
    seq: int = Field(description="its sequence number in the incident's chain")
    at: datetime
    by: str
    status: str


def register(ctx: ApiContext) -> None:
    app = ctx.app
    responses = {**ok(LifecycleReply, "Recorded", 201), **errors(400, 401, 403, 404, 409, 413, 429)}

    def record(incident_id: str, type_: EventType, make: Any) -> Any:
        """Append the event `make(state, who)` returns; it raises ApiError(409) when the state forbids it."""
        who = ctx.require(Role.RESPONDER).name
        ctx.incident(incident_id)
        at = ctx.now()
        refused: list[ApiError] = []

        def decide(state: IncidentState | None) -> list[NewEvent]:
            try:
                data: EventData = make(state, who)
            except ApiError as exc:
                refused[:] = [exc]
                return []
            # the version it was decided on: a retried request finds its own event, not a second one
            return [NewEvent.of(type_, data, at, f"human:{who}", f"{type_.value}/{state.version}")]  # type: ignore[union-attr]

        stored, state = append_with_retry(ctx.deps().events, incident_id, decide)
        if refused:
            raise refused[0]
        e = stored[0]
        return json_response(201, {"incident_id": incident_id, "event": e.type.value, "seq": e.seq, "at": iso(e.at),
                                   "by": who, "status": state.status.value if state else None})

    def not_resolved(state: IncidentState | None, what: str) -> IncidentState:
        assert state is not None
        if state.status == IncidentStatus.RESOLVED:
            raise ApiError(409, f"incident {state.incident_id} is resolved (by {state.resolved_by} at "
                                f"{iso(state.resolved_at) if state.resolved_at else '?'}); reopen it to {what}",
                           incident_status=state.status.value)
        return state

    @app.post("/incidents/<incident_id>/resolve", summary="Resolve with the confirmed root cause", responses=responses)
    def resolve(incident_id: IncidentId, body: ResolveRequest):
        def make(state: IncidentState | None, who: str) -> Resolved:
            s = not_resolved(state, "resolve it again")
            root = s.decision.root_cause if s.decision else None
            return Resolved(by=who, category=body.category, service=body.service, note=body.note,
                            predicted_category=root.category if root else None,
                            predicted_service=root.service if root else None)
        return record(incident_id, EventType.RESOLVED, make)

    @app.post("/incidents/<incident_id>/reopen", summary="Reopen a resolved incident", responses=responses)
    def reopen(incident_id: IncidentId, body: ReopenRequest):
        def make(state: IncidentState | None, who: str) -> Reopened:
            if state is None or state.status != IncidentStatus.RESOLVED:
                raise ApiError(409, f"incident {incident_id} is not resolved",
                               incident_status=state.status.value if state else None)
            return Reopened(by=who, reason=body.reason)
        return record(incident_id, EventType.REOPENED, make)

    @app.post("/incidents/<incident_id>/acknowledge", summary="Take ownership of the incident", responses=responses)
    def acknowledge(incident_id: IncidentId, body: AcknowledgeRequest):
        def make(state: IncidentState | None, who: str) -> Acknowledged:
            not_resolved(state, "acknowledge it")
            return Acknowledged(by=who, note=body.note)
        return record(incident_id, EventType.ACKNOWLEDGED, make)

    @app.post("/incidents/<incident_id>/mitigated", summary="Record that the impact has been mitigated",
              responses=responses)
    def mitigated(incident_id: IncidentId, body: MitigatedRequest):
        def make(state: IncidentState | None, who: str) -> Mitigated:
            not_resolved(state, "mark it mitigated")
            return Mitigated(by=who, how=body.how)
        return record(incident_id, EventType.MITIGATED, make)

    @app.post("/incidents/<incident_id>/severity", summary="Change the incident's severity", responses=responses)
    def severity(incident_id: IncidentId, body: SeverityRequest):
        def make(state: IncidentState | None, who: str) -> SeverityChanged:
            s = not_resolved(state, "change its severity")
            if s.severity == body.severity.value:
                raise ApiError(409, f"incident {incident_id} is already {s.severity}", field="severity")
            return SeverityChanged(previous=s.severity, severity=body.severity.value,
                                   reason=f"{who}: {body.reason}" if body.reason else who)
        return record(incident_id, EventType.SEVERITY_CHANGED, make)
