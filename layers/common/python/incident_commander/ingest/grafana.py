"""Grafana unified alerting webhook (`"version": "1"`): Alertmanager's shape plus `orgId`, `values`,
`silenceURL`, `dashboardURL` and the deprecated `title/state/message`, which are kept in `raw`.

Key: the alert's `fingerprint`. Scope: the `cluster` label, else the Grafana instance and org.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Alert
from . import _util as u
from .alertmanager import parse_webhook


def parse(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    org = b.get("orgId")
    prefix = f"grafana:{org}" if isinstance(org, (int, str)) and not isinstance(org, bool) else "grafana"
    return parse_webhook(b, received_at, source="grafana", version="1", scope_prefix=prefix)
