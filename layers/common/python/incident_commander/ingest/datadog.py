"""Datadog webhook, rendered with the payload template this project documents (TEMPLATE below).

Datadog's webhook body is whatever template the user pastes into the Webhooks integration. Ours
carries Datadog's own variables under the names below. Key: the rendered `alert_id` field, as is
(`$ALERT_ID` names the monitor; for a multi-alert monitor render the group into it too, e.g.
`"$ALERT_ID/$ALERT_SCOPE"`, so each group is its own alert). Status from `alert_transition`
(Triggered, Re-Triggered, Renotify, Warn, No Data fire; Recovered resolves), else `alert_type`
(success resolves). Severity from `alert_priority` (P1-P5), else `alert_type`.
Service hints: the `service` / `kube_service` / `app` tag of `tags` or `alert_scope`, `hostname`.
A field still holding its `$VARIABLE` was not rendered (a template typo): 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Alert, AlertStatus, Severity
from . import _util as u
from .errors import PayloadError

TEMPLATE: dict[str, Any] = {
    "alert_id": "$ALERT_ID",
    "alert_transition": "$ALERT_TRANSITION",
    "alert_type": "$ALERT_TYPE",
    "alert_priority": "$ALERT_PRIORITY",
    "alert_title": "$ALERT_TITLE",
    "alert_status": "$ALERT_STATUS",
    "alert_metric": "$ALERT_METRIC",
    "alert_scope": "$ALERT_SCOPE",
    "alert_cycle_key": "$ALERT_CYCLE_KEY",
    "aggreg_key": "$AGGREG_KEY",
    "title": "$EVENT_TITLE",
    "body": "$EVENT_MSG",
    "date": "$DATE",
    "last_updated": "$LAST_UPDATED",
    "hostname": "$HOSTNAME",
    "tags": "$TAGS",
    "link": "$LINK",
    "org": {"id": "$ORG_ID", "name": "$ORG_NAME"},
}
FIRING_TRANSITIONS = {"triggered", "re-triggered", "retriggered", "renotify", "warn", "re-warn", "no data",
                      "re-no data", "nodata"}
RESOLVED_TRANSITIONS = {"recovered", "resolved", "ok"}
TYPE_SEVERITY = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "info": Severity.INFO,
                 "success": Severity.INFO}
SERVICE_TAGS = ("service", "kube_service", "app", "kube_deployment", "kube_app_name", "container_name",
                "functionname", "dbinstanceidentifier", "queuename", "tablename")


def _field(b: dict[str, Any], name: str, required: bool = False, max_len: int = 4096, number: bool = False) -> str:
    raw = b.get(name)
    if number and isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # a template may leave an id unquoted: "alert_id": $ALERT_ID
    value = u.text(raw, name, required=required, max_len=max_len)
    if value.startswith("$") and value[1:].replace("_", "").isalnum() and value[1:].isupper():
        raise PayloadError(name, f"template variable {value} was not rendered")
    return value


def parse(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    key = _field(b, "alert_id", required=True, max_len=1024, number=True)
    transition = _field(b, "alert_transition").strip()
    alert_type = _field(b, "alert_type").strip().lower()
    t = transition.lower()
    if t in FIRING_TRANSITIONS:
        status = AlertStatus.FIRING
    elif t in RESOLVED_TRANSITIONS or (not t and alert_type == "success"):
        status = AlertStatus.RESOLVED
    elif not t and alert_type in TYPE_SEVERITY:
        status = AlertStatus.FIRING
    else:
        raise PayloadError("alert_transition", f"expected Triggered, Recovered, Warn, No Data... got {transition[:40]!r}")
    priority = _field(b, "alert_priority", max_len=16)
    severity = Severity.normalise(priority, None) if priority.upper() in ("P1", "P2", "P3", "P4", "P5") \
        else TYPE_SEVERITY.get(alert_type, Severity.HIGH)
    if t in ("warn", "re-warn") and severity.rank > Severity.MEDIUM.rank:
        severity = Severity.MEDIUM
    title = _field(b, "alert_title", max_len=1024) or _field(b, "title", max_len=1024)
    for prefix in ("[Triggered] ", "[Recovered] ", "[Warn] ", "[Re-Triggered] ", "[No Data] ", "[P1] ", "[P2] "):
        title = title.removeprefix(prefix)
    tags = u.tag_labels(_field(b, "tags", max_len=16384), "tags")
    scope_tags = u.tag_labels(_field(b, "alert_scope", max_len=4096), "alert_scope")
    labels = {**{k.lower(): v for k, v in tags.items() if v}, **{k.lower(): v for k, v in scope_tags.items() if v}}
    hostname = _field(b, "hostname", max_len=512)
    metric = _field(b, "alert_metric", max_len=512)
    org = b.get("org") if isinstance(b.get("org"), dict) else {}
    extra = {"hostname": hostname, "metric": metric, "transition": transition, "alert_cycle_key":
             _field(b, "alert_cycle_key", max_len=256), "aggreg_key": _field(b, "aggreg_key", max_len=256)}
    labels.update({k: v for k, v in extra.items() if v})
    hints = [labels[k] for k in SERVICE_TAGS if labels.get(k)] + ([hostname] if hostname else [])
    cluster = labels.get("kube_cluster_name") or labels.get("cluster_name") or labels.get("cluster")
    return [Alert(
        source="datadog", key=key, status=status, severity=severity,
        name=(title or metric or key)[:512], title=title,
        description=(_field(b, "body", max_len=65536) or _field(b, "alert_status", max_len=4096))[:4096],
        service_hints=tuple(hints), labels=labels,
        starts_at=u.when(b.get("date") or b.get("last_updated"), "date"), received_at=received_at,
        group_key=extra["aggreg_key"] or None,
        scope=f"cluster:{cluster}" if cluster else f"datadog:{str(org.get('id') or 'default')[:64]}",
        raw=b,
    )]
