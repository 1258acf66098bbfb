"""Response metrics, computed from the events (through the projection, which is their fold).

No time here is ever typed in: each comes from the `at` of the event that set it.

- impact start: the earliest `starts_at` the alert sources report for the incident's alerts (when
  the monitored condition began), else the first alert's arrival.
- detected:     `incident.opened`.
- acknowledged: the first of `incident.acknowledged`, a human answer to an escalation
  (`human.approved` / `rejected` / `reassigned`), the commander's own `decision.made` to act or to
  monitor (it owns the incident from then on), or `incident.resolved`.
- mitigated:    the first of `action.run`, `incident.mitigated`, or `incident.resolved`.
- resolved:     `incident.resolved` (a reopen clears it; the next resolution counts).

  TTD = detected - impact start        TTA = acknowledged - detected
  TTM = mitigated - impact start       TTR = resolved - impact start

MTTD/MTTA/MTTM/MTTR aggregate these over incidents (mean, median, p90, linear interpolation);
an incident without the end moment yet is left out of that metric. Negative spans (a source whose
clock runs ahead) count as 0. Noise reduction = alert messages attached to the incidents (repeats
included) / incidents; alerts recorded as noise (below the severity floor) join no incident and are
not counted, so the real reduction is at least this.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from .models.incident import IncidentState


class IncidentMetrics(BaseModel):
    incident_id: str
    status: str
    severity: str
    services: list[str]
    impact_started_at: datetime | None
    detected_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    ttd_seconds: float | None
    tta_seconds: float | None
    ttm_seconds: float | None
    ttr_seconds: float | None
    alerts: int = Field(description="distinct alerts")
    deliveries: int = Field(description="alert messages, repeats included")
    reopened: int


class Summary(BaseModel):
    count: int
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


class Aggregate(BaseModel):
    incidents: int
    resolved: int
    mttd: Summary
    mtta: Summary
    mttm: Summary
    mttr: Summary
    alerts_in: int = Field(description="alert messages attached to these incidents, repeats included")
    distinct_alerts: int
    noise_reduction: float | None = Field(description="alerts_in / incidents")


def impact_start(s: IncidentState) -> datetime | None:
    return s.alerts_started_at or s.first_alert_at or s.opened_at  # the earliest start of its listed alerts


def _span(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, round((end - start).total_seconds(), 3))


def incident_metrics(s: IncidentState) -> IncidentMetrics:
    start = impact_start(s)
    return IncidentMetrics(
        incident_id=s.incident_id, status=s.status.value, severity=s.severity, services=list(s.services),
        impact_started_at=start, detected_at=s.opened_at, acknowledged_at=s.acknowledged_at,
        acknowledged_by=s.acknowledged_by, mitigated_at=s.mitigated_at, resolved_at=s.resolved_at,
        ttd_seconds=_span(start, s.opened_at), tta_seconds=_span(s.opened_at, s.acknowledged_at),
        ttm_seconds=_span(start, s.mitigated_at), ttr_seconds=_span(start, s.resolved_at),
        alerts=s.distinct_alerts, deliveries=s.alert_deliveries, reopened=s.reopened)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo), 3)


def summarise(values: Iterable[float | None]) -> Summary:
    vs = [v for v in values if v is not None]
    if not vs:
        return Summary(count=0)
    return Summary(count=len(vs), mean=round(sum(vs) / len(vs), 3), median=percentile(vs, 50), p90=percentile(vs, 90))


def aggregate(per_incident: Sequence[IncidentMetrics]) -> Aggregate:
    alerts_in = sum(m.deliveries for m in per_incident)
    return Aggregate(
        incidents=len(per_incident), resolved=sum(1 for m in per_incident if m.resolved_at is not None),
        mttd=summarise(m.ttd_seconds for m in per_incident), mtta=summarise(m.tta_seconds for m in per_incident),
        mttm=summarise(m.ttm_seconds for m in per_incident), mttr=summarise(m.ttr_seconds for m in per_incident),
        alerts_in=alerts_in, distinct_alerts=sum(m.alerts for m in per_incident),
        noise_reduction=round(alerts_in / len(per_incident), 3) if per_incident else None)
