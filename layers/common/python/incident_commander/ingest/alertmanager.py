"""Prometheus Alertmanager webhook (version 4), one Alert per entry of `alerts`.

Key: the alert's `fingerprint` (Alertmanager's own label-set hash); payloads from tools that
omit it get a fingerprint computed from the labels. Scope: the `cluster` label (or externalURL).
Grafana's unified alerting webhook has the same shape (`grafana.py` reuses `parse_webhook`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Alert, AlertStatus, Severity
from . import _util as u
from .errors import PayloadError

# label names that may carry the service, best first ('job' is often the scraper: last)
SERVICE_LABELS = ("service", "service_name", "app", "app_kubernetes_io_name", "k8s_app", "application",
                  "container", "deployment", "workload", "statefulset", "daemonset", "pod", "job")


def service_hints(labels: dict[str, str]) -> tuple[str, ...]:
    return tuple(labels[k] for k in SERVICE_LABELS if labels.get(k))


def parse(body: Any, received_at: datetime) -> list[Alert]:
    return parse_webhook(body, received_at, source="alertmanager", version="4", scope_prefix="am")


def parse_webhook(body: Any, received_at: datetime, source: str, version: str, scope_prefix: str) -> list[Alert]:
    """The Alertmanager-style webhook body shared by Alertmanager (v4) and Grafana (v1)."""
    b = u.obj(body, "body")
    got = b.get("version")
    if got is not None and str(got) != version:
        raise PayloadError("version", f"unsupported {source} webhook version {got!r} (expected \"{version}\")")
    alerts = u.lst(b.get("alerts"), "alerts")
    group_key = u.text(b.get("groupKey"), "groupKey", required=False, max_len=4096) or None
    external = u.text(b.get("externalURL"), "externalURL", required=False, max_len=2048)
    common = u.str_map(b.get("commonLabels"), "commonLabels")
    out: list[Alert] = []
    for i, raw in enumerate(alerts):
        f = f"alerts[{i}]"
        a = u.obj(raw, f)
        labels = {**common, **u.str_map(a.get("labels"), f"{f}.labels")}
        name = labels.get("alertname") or ""
        if not name.strip():
            raise PayloadError(f"{f}.labels.alertname", "missing")
        annotations = u.str_map(a.get("annotations"), f"{f}.annotations")
        status_raw = u.text(a.get("status") or b.get("status"), f"{f}.status")
        if status_raw not in ("firing", "resolved"):
            raise PayloadError(f"{f}.status", f"expected 'firing' or 'resolved', got {status_raw[:40]!r}")
        fingerprint = u.text(a.get("fingerprint"), f"{f}.fingerprint", required=False, max_len=256)
        out.append(Alert(
            source=source,
            key=fingerprint.strip() or u.label_fingerprint(labels),
            status=AlertStatus(status_raw),
            severity=Severity.normalise(labels.get("severity") or labels.get("priority")),
            name=name.strip()[:512],
            title=(annotations.get("summary") or annotations.get("title") or name)[:1024],
            description=annotations.get("description", "")[:4096],
            service_hints=service_hints(labels),
            labels=labels,
            starts_at=u.when(a.get("startsAt"), f"{f}.startsAt"),
            ends_at=u.when(a.get("endsAt"), f"{f}.endsAt"),
            received_at=received_at,
            group_key=group_key,
            scope=f"cluster:{labels['cluster']}" if labels.get("cluster") else f"{scope_prefix}:{external or 'default'}",
            raw={**a, "groupKey": group_key, "receiver": b.get("receiver")},
        ))
    return out
