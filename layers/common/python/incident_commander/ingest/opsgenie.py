"""Opsgenie: an Alert API create or close request, or an outgoing-webhook notification.

- Create (`POST /v2/alerts` body): `message` (required; Opsgenie keeps 130 characters), `alias`
  (at most 512), `description`, `tags`, `details`, `entity`, `source`,
  `priority` P1-P5. Key = `alias` (Opsgenie's de-duplication key); without one, a digest of the
  message and entity.
- Close: Opsgenie names the alert in the URL (`/v2/alerts/{alias}/close?identifierType=alias`);
  posted here, the body carries it: `{"action": "close", "alias": "...", "note": "..."}`. A body
  with an `alias` and no `message` is read as a close as well. `"action": "acknowledge"` acknowledges.
- Outgoing webhook (`{"action": "Create" | "Close" | "Acknowledge" | ..., "alert": {...}}`), what
  Opsgenie sends when it forwards alerts; actions that change nothing we track (notes, tags,
  assignments) are accepted and ignored.

Service hints: `details.service` (and service_name, app), `service:` tags, `entity`, `source`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Alert, AlertStatus, Severity
from . import _util as u
from .errors import PayloadError

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
REQUEST_ACTIONS = {"create": AlertStatus.FIRING, "close": AlertStatus.RESOLVED,
                   "acknowledge": AlertStatus.ACKNOWLEDGED}
WEBHOOK_ACTIONS = {"Create": AlertStatus.FIRING, "Close": AlertStatus.RESOLVED, "Delete": AlertStatus.RESOLVED,
                   "Acknowledge": AlertStatus.ACKNOWLEDGED, "UnAcknowledge": AlertStatus.FIRING}
SERVICE_KEYS = ("service", "service_name", "app", "application", "component")


def parse(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    if isinstance(b.get("alert"), dict) and isinstance(b.get("action"), str):
        return _webhook(b, received_at)
    action = u.text(b.get("action"), "action", required=False, max_len=32).lower()
    if not action:
        action = "close" if "message" not in b and "alias" in b else "create"
    if action not in REQUEST_ACTIONS:
        raise PayloadError("action", f"expected create, close or acknowledge, got {action!r}")
    if action != "create":
        alias = u.text(b.get("alias"), "alias", max_len=512)
        note = u.text(b.get("note"), "note", required=False, max_len=25000)
        return [Alert(source="opsgenie", key=alias, status=REQUEST_ACTIONS[action], name=f"{action} {alias}"[:512],
                      description=note[:4096], received_at=received_at, scope="opsgenie", raw=b)]
    return [_create(b, received_at, "", AlertStatus.FIRING)]


def _create(a: dict[str, Any], received_at: datetime, prefix: str, status: AlertStatus,
            created: Any = None) -> Alert:
    message = u.text(a.get("message"), f"{prefix}message", max_len=4096)  # Opsgenie itself cuts at 130
    alias = u.text(a.get("alias"), f"{prefix}alias", required=False, max_len=512)
    description = u.text(a.get("description"), f"{prefix}description", required=False, max_len=15000)
    entity = u.text(a.get("entity"), f"{prefix}entity", required=False, max_len=512)
    source = u.text(a.get("source"), f"{prefix}source", required=False, max_len=100)
    priority = a.get("priority", "P3")
    if isinstance(priority, int) and not isinstance(priority, bool) and 1 <= priority <= 5:
        priority = f"P{priority}"  # the outgoing webhook numbers priorities
    if priority not in PRIORITIES:
        raise PayloadError(f"{prefix}priority", f"expected one of {', '.join(PRIORITIES)}, got {str(priority)[:20]!r}")
    tags = u.tag_labels(a.get("tags"), f"{prefix}tags")
    details = u.str_map(a.get("details"), f"{prefix}details") if not prefix else u.scalars(a.get("details"))
    labels = {**{f"tag_{k}" if v == "" else k: v for k, v in tags.items()}, **details,
              **{k: v for k, v in {"entity": entity, "source": source, "priority": priority}.items() if v}}
    hints = [details[k] for k in SERVICE_KEYS if details.get(k)] + [tags[k] for k in SERVICE_KEYS if tags.get(k)]
    hints += [x for x in (entity, source) if x]
    return Alert(
        source="opsgenie", key=alias or u.digest(message, entity), status=status,
        severity=Severity.normalise(priority), name=message[:512], description=description[:4096],
        title=message[:1024], service_hints=tuple(hints), labels=labels,
        starts_at=u.when(created, f"{prefix}createdAt") if created is not None else None,
        received_at=received_at, scope=f"opsgenie:{labels['cluster']}" if labels.get("cluster") else "opsgenie",
        raw=a if not prefix else {"alert": a},
    )


def _webhook(b: dict[str, Any], received_at: datetime) -> list[Alert]:
    action = b["action"]
    if action not in WEBHOOK_ACTIONS:
        return []  # AddNote, AddTags, Assign...: nothing that changes an alert's state
    a = b["alert"]
    if action == "Create":
        return [_create({**a, "alias": a.get("alias") or a.get("alertId")}, received_at, "alert.",
                        AlertStatus.FIRING, a.get("createdAt"))]
    alias = u.text(a.get("alias"), "alert.alias", required=False, max_len=512) \
        or u.text(a.get("alertId"), "alert.alertId", max_len=512)
    return [Alert(source="opsgenie", key=alias, status=WEBHOOK_ACTIONS[action], name=f"{action} {alias}"[:512],
                  received_at=received_at, scope="opsgenie", raw=b)]
