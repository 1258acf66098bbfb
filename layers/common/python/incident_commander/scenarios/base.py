"""Builders for realistic payloads of each source, used by the scenarios."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..timeutil import iso


@dataclass(frozen=True)
class ScenarioDelivery:
    offset_s: float
    source: str
    body: dict[str, Any]


@dataclass
class Scenario:
    name: str
    title: str
    complexity: str
    impact_per_minute: float
    topology_yaml: str
    expected_category: str
    expected_service: str
    deliveries: list[ScenarioDelivery] = field(default_factory=list)

    def at(self, start: datetime) -> list[tuple[datetime, str, dict[str, Any]]]:
        return [(start + timedelta(seconds=d.offset_s), d.source, d.body) for d in self.deliveries]

    @property
    def duration_s(self) -> float:
        return max((d.offset_s for d in self.deliveries), default=0.0)


def _fp(labels: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


class Storm:
    """Accumulates deliveries; times are seconds from the scenario start (rendered at play time)."""

    def __init__(self, cluster: str = "prod-us-east-1", account: str = "123456789012", region: str = "us-east-1"):
        self.cluster, self.account, self.region = cluster, account, region
        self.deliveries: list[ScenarioDelivery] = []
        self.t0 = datetime(2026, 1, 1, 12, 0, 0).astimezone()

    def _t(self, offset: float) -> str:
        return iso(self.t0 + timedelta(seconds=offset))

    # Prometheus Alertmanager webhook v4 --------------------------------------------------------
    def alertmanager(self, offset: float, alerts: list[dict[str, Any]], status: str = "firing") -> None:
        rendered = []
        for a in alerts:
            labels = {"cluster": self.cluster, "namespace": a.get("namespace", "prod"), "alertname": a["name"],
                      "severity": a.get("severity", "warning"), **({"service": a["service"]} if a.get("service") else {}),
                      **a.get("labels", {})}
            started = offset - a.get("age", 0)
            rendered.append({"status": a.get("status", status), "labels": labels,
                             "annotations": {"summary": a.get("summary", a["name"]),
                                             "description": a.get("description", "")},
                             "startsAt": self._t(started),
                             "endsAt": self._t(offset) if a.get("status", status) == "resolved" else "0001-01-01T00:00:00Z",
                             "generatorURL": f"http://prometheus.{self.cluster}:9090/graph",
                             "fingerprint": _fp(labels)})
        group = {"alertname": alerts[0]["name"], "cluster": self.cluster}
        body = {"receiver": "incident-commander", "status": status, "alerts": rendered,
                "groupLabels": group, "commonLabels": group, "commonAnnotations": {},
                "externalURL": f"http://alertmanager.{self.cluster}:9093", "version": "4",
                "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}", "truncatedAlerts": 0}
        self.deliveries.append(ScenarioDelivery(offset, "alertmanager", body))

    # CloudWatch alarm state change via EventBridge --------------------------------------------
    def cloudwatch(self, offset: float, alarm: str, state: str, namespace: str, metric: str,
                   dimensions: dict[str, str], reason: str = "", description: str = "") -> None:
        arn = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{alarm}"
        body = {
            "version": "0", "id": hashlib.md5(f"{alarm}{offset}".encode()).hexdigest(),
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "account": self.account,
            "time": self._t(offset), "region": self.region, "resources": [arn],
            "detail": {"alarmName": alarm,
                       "state": {"value": state, "reason": reason or f"Threshold crossed: {metric}",
                                 "timestamp": self._t(offset)},
                       "previousState": {"value": "OK" if state == "ALARM" else "ALARM",
                                         "timestamp": self._t(offset - 300)},
                       "configuration": {"description": description, "metrics": [{
                           "id": "m1", "metricStat": {"metric": {"namespace": namespace, "name": metric,
                                                                 "dimensions": dimensions},
                                                      "period": 60, "stat": "Average"},
                           "returnData": True}]}},
        }
        self.deliveries.append(ScenarioDelivery(offset, "cloudwatch", body))
