"""PagerDuty: an Events API v2 event (trigger / acknowledge / resolve), a Change Event, or a V3 webhook.

- Events API v2 (`POST /v2/enqueue` body): key = `dedup_key` (a trigger without one gets a key from
  its routing key, source and summary, as PagerDuty would deduplicate it). `trigger` fires,
  `acknowledge` acknowledges, `resolve` resolves; `payload.severity` is one of critical, error,
  warning, info, as PagerDuty requires.
- Change Events (`POST /v2/change/enqueue`: a routing key and a payload, no `event_action`): a
  deployment or configuration notice, recorded as a change event (context, never an incident).
- V3 webhooks (`{"event": {"event_type": "incident.triggered", "data": {...}}}`), what PagerDuty
  itself sends: key = the incident's `incident_key` (its dedup key), else its id.

Service hints: `payload.component`, `payload.source`, `payload.group`, service-like custom details,
the V3 incident's service name. The routing key is a credential: it never appears in labels or
scope, only a digest of it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ..models import Alert, AlertStatus, Severity
from . import _util as u
from .errors import PayloadError

ACTIONS = {"trigger": AlertStatus.FIRING, "acknowledge": AlertStatus.ACKNOWLEDGED, "resolve": AlertStatus.RESOLVED}
SEVERITIES = ("critical", "error", "warning", "info")
V3_STATUS = {"incident.triggered": AlertStatus.FIRING, "incident.reopened": AlertStatus.FIRING,
             "incident.unacknowledged": AlertStatus.FIRING, "incident.acknowledged": AlertStatus.ACKNOWLEDGED,
             "incident.resolved": AlertStatus.RESOLVED}
DETAIL_SERVICE_KEYS = ("service", "service_name", "app", "application", "component")


def parse(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    if "event" in b and "routing_key" not in b:
        return _v3(b, received_at)
    routing = u.text(b.get("routing_key"), "routing_key", max_len=256)
    scope = f"pagerduty:{hashlib.sha256(routing.encode()).hexdigest()[:12]}"
    if "event_action" not in b:
        return [_change_event(b, received_at, routing, scope)]
    action = u.text(b.get("event_action"), "event_action")
    if action not in ACTIONS:
        raise PayloadError("event_action", f"expected trigger, acknowledge or resolve, got {action[:40]!r}")
    dedup = u.text(b.get("dedup_key"), "dedup_key", required=action != "trigger", max_len=255)
    if action != "trigger":
        return [Alert(source="pagerduty", key=dedup, status=ACTIONS[action], name=f"{action} {dedup}"[:512],
                      received_at=received_at, scope=scope, raw=_redact(b))]
    p = u.obj(b.get("payload"), "payload")
    summary = u.text(p.get("summary"), "payload.summary", max_len=1024)
    source = u.text(p.get("source"), "payload.source", max_len=1024)
    severity = u.text(p.get("severity"), "payload.severity")
    if severity not in SEVERITIES:
        raise PayloadError("payload.severity", f"expected one of {', '.join(SEVERITIES)}, got {severity[:40]!r}")
    component = u.text(p.get("component"), "payload.component", required=False, max_len=1024)
    group = u.text(p.get("group"), "payload.group", required=False, max_len=1024)
    klass = u.text(p.get("class"), "payload.class", required=False, max_len=1024)
    details = u.scalars(p.get("custom_details"))
    labels = {k: v for k, v in {"component": component, "group": group, "class": klass, "source": source,
                                **{f"detail_{k}": v for k, v in details.items()}}.items() if v}
    hints = [details[k] for k in DETAIL_SERVICE_KEYS if details.get(k)] + [x for x in (component, source, group) if x]
    return [Alert(
        source="pagerduty", key=dedup or u.digest(routing, source, summary), status=AlertStatus.FIRING,
        severity=Severity.normalise(severity), name=(klass or summary)[:512], title=summary,
        description="; ".join(f"{k}: {v}" for k, v in details.items())[:4096],
        service_hints=tuple(hints), labels=labels,
        starts_at=u.when(p.get("timestamp"), "payload.timestamp"), received_at=received_at,
        group_key=group or None, scope=scope, raw=_redact(b),
    )]


def _change_event(b: dict[str, Any], received_at: datetime, routing: str, scope: str) -> Alert:
    p = u.obj(b.get("payload"), "payload")
    summary = u.text(p.get("summary"), "payload.summary", max_len=1024)
    source = u.text(p.get("source"), "payload.source", required=False, max_len=1024)
    details = u.scalars(p.get("custom_details"))
    hints = [details[k] for k in DETAIL_SERVICE_KEYS if details.get(k)] + ([source] if source else [])
    return Alert(source="pagerduty", key=u.digest(routing, summary, str(p.get("timestamp") or "")),
                 status=AlertStatus.FIRING, severity=Severity.INFO, name="change event", title=summary,
                 service_hints=tuple(hints), labels={"source": source} if source else {},
                 starts_at=u.when(p.get("timestamp"), "payload.timestamp"), received_at=received_at,
                 scope=scope, is_change_event=True, raw=_redact(b))


def _v3(b: dict[str, Any], received_at: datetime) -> list[Alert]:
    e = u.obj(b.get("event"), "event")
    kind = u.text(e.get("event_type"), "event.event_type", max_len=128)
    if kind not in V3_STATUS:
        return []  # annotations, priority or responder changes: nothing to correlate
    d = u.obj(e.get("data"), "event.data")
    incident = u.text(d.get("incident_key"), "event.data.incident_key", required=False, max_len=255) \
        or u.text(d.get("id"), "event.data.id", max_len=255)
    title = u.text(d.get("title"), "event.data.title", required=False, max_len=1024)
    service = d.get("service") if isinstance(d.get("service"), dict) else {}
    service_name = u.text(service.get("summary"), "event.data.service.summary", required=False, max_len=512)
    urgency = u.text(d.get("urgency"), "event.data.urgency", required=False)
    priority = d.get("priority") if isinstance(d.get("priority"), dict) else {}
    severity = Severity.normalise(priority.get("summary"), Severity.HIGH if urgency == "high" else Severity.MEDIUM)
    return [Alert(
        source="pagerduty", key=incident, status=V3_STATUS[kind], severity=severity,
        name=(title or kind)[:512], title=title, service_hints=(service_name,) if service_name else (),
        labels={k: v for k, v in {"service": service_name, "urgency": urgency, "event_type": kind}.items() if v},
        starts_at=u.when(d.get("created_at"), "event.data.created_at"), received_at=received_at,
        scope=f"pagerduty:{service.get('id') or 'webhook'}"[:256], raw=b,
    )]


def _redact(b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in b.items() if k != "routing_key"}
