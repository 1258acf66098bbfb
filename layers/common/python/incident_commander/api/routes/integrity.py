"""POST /incidents/{id}/repair: compare the chain in every region and repair damaged copies.

Reading the comparison is `GET /incidents/{id}/verify`; this route also writes: a damaged copy is
rewritten from a region whose chain verifies and each repair is recorded as `event.repaired`.
"""

from __future__ import annotations

from ...store.replicas import ReplicaReport, regions_of, repair
from ..context import ApiContext, ApiError, json_response
from ..roles import Role
from ..schemas import errors, ok
from .incidents import IncidentId


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.post("/incidents/<incident_id>/repair", summary="Repair damaged regional copies of the chain from one "
              "that verifies; each repair is recorded as an event",
              responses={**ok(ReplicaReport, "The regions after the repair"), **errors(401, 403, 404, 409, 429)})
    def post_repair(incident_id: IncidentId):
        ctx.require(Role.ADMIN)
        ctx.incident(incident_id)
        d = ctx.deps()
        spans = regions_of(d.events)
        if spans is None:
            raise ApiError(409, "the event store has no replica regions (IC_REPLICA_REGIONS): nothing to compare")
        report = repair(incident_id, *spans, now=ctx.now(), archive=d.archive)
        return json_response(200 if report.ok else 409, report.model_dump(mode="json"))
