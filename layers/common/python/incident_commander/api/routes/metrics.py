"""Response metrics from the events: per incident and aggregated (median, p90), with noise reduction.

Definitions are in `incident_commander/metrics.py` and the README.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from ...metrics import Aggregate, IncidentMetrics, aggregate, incident_metrics
from ...models.alert import Severity
from ...models.incident import IncidentState
from ...timeutil import iso
from ..context import ApiContext, ApiError, json_response
from ..roles import Role
from ..schemas import errors, ok
from .incidents import IncidentId

DEFAULT_WINDOW = timedelta(days=30)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
MAX_INCIDENTS = 5000  # read at most this many incidents per request; `truncated` says when more matched
PAGE = 100


class MetricsReply(BaseModel):
    now: datetime
    since: datetime
    until: datetime
    aggregate: Aggregate
    incidents: list[IncidentMetrics] = Field(description="per incident, newest first, at most `limit`")
    truncated: bool = Field(description="more than the maximum number of incidents matched: the oldest are left out")


def in_window(read_page, since: datetime, until: datetime, keep) -> tuple[list[IncidentState], bool]:
    """Incidents opened in [since, until) that `keep` accepts, reading newest-first pages until older."""
    out: list[IncidentState] = []
    cursor: str | None = None
    while True:
        page = read_page(PAGE, cursor)
        for s in page.items:
            opened = s.opened_at
            if opened is not None and opened < since:
                return out, False
            if opened is not None and opened < until and keep(s):
                out.append(s)
                if len(out) >= MAX_INCIDENTS:
                    return out, True
        if page.cursor is None:
            return out, False
        cursor = page.cursor


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.get("/metrics", summary="MTTD, MTTA, MTTM, MTTR (mean, median, p90) and noise reduction, "
             "with each incident's own figures", responses={**ok(MetricsReply, "The metrics"), **errors(400, 401, 403, 429)})
    def get_metrics(
        since: Annotated[datetime | None, Query(description="incidents opened at or after (ISO 8601); default 30 days ago")] = None,
        until: Annotated[datetime | None, Query(description="incidents opened before (ISO 8601); default now")] = None,
        service: Annotated[str | None, Query(max_length=200, description="only incidents touching this service")] = None,
        severity: Annotated[Severity | None, Query(description="only incidents of this severity")] = None,
        limit: Annotated[int, Query(ge=0, le=500, description="per-incident rows returned")] = 50,
    ):
        ctx.require(Role.VIEWER)
        now = ctx.now()
        raw = ctx.query()
        for name, value in (("since", since), ("until", until)):
            if value is not None and not ISO_DATE.match(raw.get(name, "")):  # pydantic also takes epoch numbers
                raise ApiError(400, f"{name}: expected an ISO 8601 time (e.g. 2026-01-01T12:00:00Z)", field=name)
            if value is not None and value.tzinfo is None:
                raise ApiError(400, f"{name}: give a time zone (e.g. 2026-01-01T12:00:00Z)", field=name)
        hi = until or now
        lo = since or hi - DEFAULT_WINDOW
        if lo >= hi:
            raise ApiError(400, "since: must be before until", field="since")
        store = ctx.deps().events
        states, truncated = in_window(lambda n, c: store.list_states(limit=n, cursor=c), lo, hi, lambda s: (
            (not service or service in s.services) and (severity is None or s.severity == severity.value)))
        rows = [incident_metrics(s) for s in states]
        body = MetricsReply(now=now, since=lo, until=hi, aggregate=aggregate(rows), incidents=rows[:limit],
                            truncated=truncated)
        return json_response(200, body.model_dump(mode="json"))

    @app.get("/incidents/<incident_id>/metrics", summary="One incident's detect / acknowledge / mitigate / "
             "resolve times", responses={**ok(IncidentMetrics, "The incident's metrics"), **errors(401, 403, 404, 429)})
    def get_incident_metrics(incident_id: IncidentId):
        ctx.require(Role.VIEWER)
        m = incident_metrics(ctx.incident(incident_id))
        return json_response(200, {"now": iso(ctx.now()), **m.model_dump(mode="json")})
