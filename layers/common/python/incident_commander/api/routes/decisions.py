"""POST /incidents/{id}/decision: a human answers an escalation (approve / reject / reassign)."""

from __future__ import annotations

from ...adapters.control import TokenConflict
from ...adapters.stepfunctions import InvalidTaskToken
from ...models.events import EventType, HumanResponse, NewEvent
from ...store.port import append_with_retry
from ..context import ApiContext, ApiError, json_response


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.post("/incidents/<incident_id>/decision")
    def post_decision(incident_id: str):
        s = ctx.incident(incident_id)
        b = ctx.body()
        if not isinstance(b, dict):
            raise ApiError(400, "body: expected a JSON object with 'decision'")
        choice = b.get("decision")
        if choice not in ("approve", "reject", "reassign"):
            raise ApiError(400, "decision: expected 'approve', 'reject' or 'reassign'")
        reason = b.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 2000:
            raise ApiError(400, "reason: expected a string of at most 2000 characters")
        d = ctx.deps()
        pending = d.control.get_task_token(incident_id)
        if pending is None:
            raise ApiError(409, f"incident {incident_id} has no escalation waiting for an answer",
                           incident_status=s.status.value)
        level = int(pending["level"])
        next_level = b.get("level", level + 1)
        if choice == "reassign" and (not isinstance(next_level, int) or isinstance(next_level, bool) or next_level < 0):
            raise ApiError(400, "level: expected a non-negative integer")
        who = ctx.actor()
        try:
            d.control.take_task_token(incident_id, pending["token"])
        except TokenConflict as exc:
            raise ApiError(409, str(exc)) from exc
        try:
            if choice == "reject":
                d.workflow.send_failure(pending["token"], "Rejected", f"{who}: {reason}")
            else:
                d.workflow.send_success(pending["token"], {"response": choice, "by": who, "reason": reason,
                                                           "level": next_level})
        except InvalidTaskToken as exc:
            raise ApiError(409, "the escalation is no longer waiting (timed out or answered)",
                           detail=str(exc)[:300]) from exc
        event_type = {"approve": EventType.HUMAN_APPROVED, "reject": EventType.HUMAN_REJECTED,
                      "reassign": EventType.HUMAN_REASSIGNED}[choice]
        data = HumanResponse(by=who, reason=reason, reassign_to=str(next_level) if choice == "reassign" else None)
        append_with_retry(d.events, incident_id, lambda _s: [NewEvent.of(
            event_type, data, ctx.now(), f"human:{who}", f"human/{pending['issued_at']}/{level}")])
        return json_response(202, {"incident_id": incident_id, "decision": choice, "by": who, "level": level})
