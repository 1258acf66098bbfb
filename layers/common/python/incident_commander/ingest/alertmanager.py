"""Prometheus Alertmanager webhook (version 4), one Alert per entry of `alerts`.

Key: the alert's `fingerprint` (Alertmanager's own label-set hash); payloads from tools that
omit it get a fingerprint computed from the labels. Scope: the `cluster` label (or externalURL).
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
    b = u.obj(body, "body")
    version = b.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError("version", f"unsupported Alertmanager webhook version {version!r} (expected \"4\")")
    alerts = u.lst(b.get("alerts"), "alerts")
    group_key = b.get("groupKey") if isinstance(b.get("groupKey"), str) else None
    external = b.get("externalURL") if isinstance(b.get("externalURL"), str) else ""
    common = u.str_map(b.get("commonLabels"), "commonLabels")
    out: list[Alert] = []
    for i, raw in enumerate(alerts):
        f = f"alerts[{i}]"
        a = u.obj(raw, f)
        labels = {**common, **u.str_map(a.get("labels"), f"{f}.labels")}
        name = labels.get("alertname") or ""
        if not name:
            raise PayloadError(f"{f}.labels.alertname", "missing")
        annotations = u.str_map(a.get("annotations"), f"{f}.annotations")
        status_raw = u.text(a.get("status") or b.get("status"), f"{f}.status")
        if status_raw not in ("firing", "resolved"):
            raise PayloadError(f"{f}.status", f"expected 'firing' or 'resolved', got {status_raw!r}")
        fingerprint = a.get("fingerprint")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise PayloadError(f"{f}.fingerprint", "expected a string")
        out.append(Alert(
            source="alertmanager",
            key=fingerprint or u.label_fingerprint(labels),
            status=AlertStatus(status_raw),
            severity=Severity.normalise(labels.get("severity") or labels.get("priority")),
            name=name[:512],
            title=(annotations.get("summary") or annotations.get("title") or name)[:1024],
            description=annotations.get("description", "")[:4096],
            service_hints=service_hints(labels),
            labels=labels,
            starts_at=u.when(a.get("startsAt"), f"{f}.startsAt"),
            ends_at=u.when(a.get("endsAt"), f"{f}.endsAt"),
            received_at=received_at,
            group_key=group_key,
            scope=f"cluster:{labels['cluster']}" if labels.get("cluster") else f"am:{external or 'default'}",
            raw={**a, "groupKey": group_key, "receiver": b.get("receiver")},
        ))
    return out
