"""Incident reads: list, detail, timeline, verification."""

from __future__ import annotations

from ...store.integrity import verify_chain
from .. import views
from ..context import ApiContext, ApiError, json_response


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.get("/incidents")
    def list_incidents():
        q = ctx.query()
        try:
            limit = max(1, min(100, int(q.get("limit", 25))))
        except ValueError as exc:
            raise ApiError(400, "limit: expected an integer") from exc
        status, service, severity = q.get("status"), q.get("service"), q.get("severity")

        def keep(s) -> bool:
            return ((not status or s.status.value == status) and (not service or service in s.services)
                    and (not severity or s.severity == severity))

        try:
            page = ctx.deps().events.list_states(limit=limit, cursor=q.get("cursor"), predicate=keep)
        except (ValueError, KeyError) as exc:
            raise ApiError(400, "cursor: not a cursor this API returned") from exc
        topo, t = ctx.deps().topology(), ctx.now()
        return json_response(200, {"incidents": [views.summary(s, topo, t) for s in page.items],
                                   "cursor": page.cursor})

    @app.get("/incidents/<incident_id>")
    def get_incident(incident_id: str):
        return json_response(200, views.detail(ctx.incident(incident_id), ctx.deps().topology(), ctx.now()))

    @app.get("/incidents/<incident_id>/timeline")
    def get_timeline(incident_id: str):
        s = ctx.incident(incident_id)
        store = ctx.deps().events
        items = store.read_items(incident_id)
        result = verify_chain(incident_id, items, expected_head=s.last_hash, expected_version=s.version)
        return json_response(200, {"incident_id": incident_id, **views.timeline(store.read(incident_id), result)})

    @app.get("/incidents/<incident_id>/verify")
    def verify(incident_id: str):
        s = ctx.incident(incident_id)
        items = ctx.deps().events.read_items(incident_id)
        result = verify_chain(incident_id, items, expected_head=s.last_hash, expected_version=s.version)
        return json_response(200 if result.ok else 409, result.model_dump())
