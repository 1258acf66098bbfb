"""Incident reads: list (filters, cursor pagination), detail, timeline, verification."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from ...impact import Impact, assess
from ...models.alert import Severity
from ...models.incident import IncidentState, IncidentStatus
from ...runtime import Deps
from ...store.archive import read_verified
from ...store.port import from_item
from ...store.replicas import check as replica_check
from ...store.replicas import regions_of
from ...timeutil import iso
from .. import views
from ..context import ApiContext, ApiError, json_response
from ..roles import Role
from ..schemas import IncidentDetail, IncidentList, Timeline, errors, ok

IncidentId = Annotated[str, Path(min_length=1, max_length=200, description="the incident id (inc-...)")]
_CURSOR_SALT = b"incident-commander/cursor/v1"


def wrap_cursor(store_cursor: str | None) -> str | None:
    """The store's cursor as an opaque token with a checksum, so a mangled one is a 400, not a crash."""
    if store_cursor is None:
        return None
    raw = store_cursor.encode()
    check = hashlib.sha256(_CURSOR_SALT + raw).hexdigest()[:12]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + check


def unwrap_cursor(token: str | None) -> str | None:
    if not token:
        return None
    body, _, check = token.partition(".")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raw = b""
    if not raw or hashlib.sha256(_CURSOR_SALT + raw).hexdigest()[:12] != check:
        raise ApiError(400, "cursor: not a cursor this API returned", field="cursor")
    return raw.decode()


def register(ctx: ApiContext) -> None:
    app = ctx.app

    def impact(s: IncidentState, now: datetime) -> Impact:
        d = ctx.deps()
        return assess(s, d.topology(), now, cfg=d.settings.impact, changes=ctx.alert_history(s))

    @app.get("/incidents", summary="List incidents, newest first",
             responses={**ok(IncidentList, "A page of incidents"), **errors(400, 401, 403, 429)})
    def list_incidents(
        status: Annotated[IncidentStatus | None, Query(description="only incidents in this status")] = None,
        service: Annotated[str | None, Query(max_length=200, description="only incidents touching this service")] = None,
        severity: Annotated[Severity | None, Query(description="only incidents of this severity")] = None,
        since: Annotated[datetime | None, Query(description="opened at or after (ISO 8601)")] = None,
        until: Annotated[datetime | None, Query(description="opened before (ISO 8601)")] = None,
        limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 25,
        cursor: Annotated[str | None, Query(max_length=2000, description="from the previous page")] = None,
    ):
        ctx.require(Role.VIEWER)
        lo, hi = _aware(since, "since"), _aware(until, "until")
        if lo and hi and lo >= hi:
            raise ApiError(400, "since: must be before until", field="since")

        def keep(s: IncidentState) -> bool:
            opened = s.opened_at
            return ((status is None or s.status == status) and (not service or service in s.services)
                    and (severity is None or s.severity == severity.value)
                    and (lo is None or (opened is not None and opened >= lo))
                    and (hi is None or (opened is not None and opened < hi)))

        page = ctx.deps().events.list_states(limit=limit, cursor=unwrap_cursor(cursor), predicate=keep)
        now = ctx.now()
        items = [views.summary(s, impact(s, now), now) for s in page.items]
        return json_response(200, {"now": iso(now), "incidents": items, "cursor": wrap_cursor(page.cursor)})

    @app.get("/incidents/<incident_id>", summary="One incident: alerts and why they were grouped, hypotheses, "
             "votes, decision, impact, pipeline stage",
             responses={**ok(IncidentDetail, "The incident"), **errors(401, 403, 404, 429)})
    def get_incident(incident_id: IncidentId):
        ctx.require(Role.VIEWER)
        s, now = ctx.incident(incident_id), ctx.now()
        return json_response(200, views.detail(s, impact(s, now), now))

    @app.get("/incidents/<incident_id>/timeline", summary="Every event with its hash, and whether the chain verifies",
             responses={**ok(Timeline, "The timeline"), **errors(401, 403, 404, 429)})
    def get_timeline(incident_id: IncidentId):
        ctx.require(Role.VIEWER)
        s, d = ctx.incident(incident_id), ctx.deps()
        items, result = read_verified(d.events, incident_id, s, d.archive)  # archived events come from S3
        events = [from_item(i) for i in items]
        return json_response(200, {"incident_id": incident_id, **views.timeline(events, result)})

    @app.get("/incidents/<incident_id>/verify", summary="Recompute the hash chain (archive and every replica "
             "region included); 409 names the first bad event", responses=errors(401, 403, 404, 409, 429))
    def verify(incident_id: IncidentId):
        ctx.require(Role.VIEWER)
        s, d = ctx.incident(incident_id), ctx.deps()
        body, ok = verification(d, incident_id, s)
        return json_response(200 if ok else 409, body)


def verification(d: Deps, incident_id: str, s: IncidentState) -> tuple[dict, bool]:
    """The chain's verification, plus each replica region's copy compared with it when replicated."""
    result = read_verified(d.events, incident_id, s, d.archive)[1]
    body, ok = result.model_dump(), result.ok
    spans = regions_of(d.events)
    if spans is not None:
        report, _ = replica_check(incident_id, *spans, archive=d.archive)
        body["replicas"], ok = report.model_dump(), ok and report.ok
        bad = next((r for r in report.regions if r.status in ("damaged", "diverged")), None)
        if result.ok and bad is not None:
            body.update(first_bad_seq=bad.first_bad_seq, problem=f"{bad.region}: {bad.problem}")
    if not ok:
        body["error"] = body.get("problem") or "the chain does not verify"  # the documented error shape
    return body, ok


def _aware(dt: datetime | None, name: str) -> datetime | None:
    if dt is not None and dt.tzinfo is None:
        raise ApiError(400, f"{name}: give a time zone (e.g. 2026-01-01T12:00:00Z)", field=name)
    return dt
