"""POST /incidents/{id}/decision: a responder answers an escalation (approve / reject / reassign)."""

from __future__ import annotations

from ...adapters.control import TokenConflict
from ...adapters.stepfunctions import InvalidTaskToken
from ...models.events import EventType, HumanResponse, NewEvent
from ...store.port import append_with_retry
from ..context import ApiContext, ApiError, json_response
from ..roles import Role
from ..schemas import DecisionReply, DecisionRequest, errors, ok
from .incidents import IncidentId

EVENT_OF = {"approve": EventType.HUMAN_APPROVED, "reject": EventType.HUMAN_REJECTED,
            "reassign": EventType.HUMAN_REASSIGNED}


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.post("/incidents/<incident_id>/decision", summary="Answer the escalation waiting on this incident",
              responses={**ok(DecisionReply, "Answered; the workflow resumes", 202),
                         **errors(400, 401, 403, 404, 409, 413, 429)})
    def post_decision(incident_id: IncidentId, body: DecisionRequest):
        who = ctx.require(Role.RESPONDER).name
        s = ctx.incident(incident_id)
        d = ctx.deps()
        pending = d.control.get_task_token(incident_id)
        if pending is None:
            raise ApiError(409, f"incident {incident_id} has no escalation waiting for an answer",
                           incident_status=s.status.value)
        level = int(pending["level"])
        next_level = body.level if body.level is not None else level + 1
        try:
            d.control.take_task_token(incident_id, pending["token"])
        except TokenConflict as exc:
            raise ApiError(409, str(exc)) from exc
        try:
            if body.decision == "reject":
                d.workflow.send_failure(pending["token"], "Rejected", f"{who}: {body.reason}")
            else:
                d.workflow.send_success(pending["token"], {"response": body.decision, "by": who,
                                                           "reason": body.reason, "level": next_level})
        except InvalidTaskToken as exc:
            raise ApiError(409, "the escalation is no longer waiting (timed out or answered)",
                           detail=str(exc)[:300]) from exc
        data = HumanResponse(by=who, reason=body.reason,
                             reassign_to=str(next_level) if body.decision == "reassign" else None)
        append_with_retry(d.events, incident_id, lambda _s: [NewEvent.of(
            EVENT_OF[body.decision], data, ctx.now(), f"human:{who}", f"human/{pending['issued_at']}/{level}")])
        return json_response(202, {"incident_id": incident_id, "decision": body.decision, "by": who, "level": level})
