"""Scenarios and the builders of each alert source's real payload format.

A scenario's storm is a function that adds deliveries to a `Storm` at offsets in seconds from the
start. Rendering it at a start time and a speed gives concrete webhook bodies whose every timestamp
(startsAt, alarm state times, event times) agrees with the delivery time, so the same storm can be
played live by the CLI or delivered as recent history by `POST /scenarios/{name}`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..timeutil import iso

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert


@dataclass(frozen=True)
class Delivery:
    at: datetime
    source: str
    body: dict[str, Any]


def _digest(*parts: Any, n: int = 16) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


def _uuid(*parts: Any) -> str:
    return str(uuid.UUID(_digest(*parts, n=32)))


class Storm:
    """Collects deliveries; `offset` and `age` are seconds of the recording (divided by `speed`)."""

    def __init__(self, start: datetime = EPOCH, speed: float = 1.0, cluster: str = "prod-us-east-1",
                 account: str = "123456789012", region: str = "us-east-1"):
        self.start, self.speed = start, speed
        self.cluster, self.account, self.region = cluster, account, region
        self.deliveries: list[Delivery] = []

    def at(self, offset: float) -> datetime:
        return self.start + timedelta(seconds=offset / self.speed)

    def _t(self, offset: float) -> str:
        return iso(self.at(offset))

    def _add(self, offset: float, source: str, body: dict[str, Any]) -> None:
        self.deliveries.append(Delivery(self.at(offset), source, body))

    # Prometheus Alertmanager webhook (version 4) ------------------------------------------------
    def alertmanager(self, offset: float, alerts: list[dict[str, Any]], status: str = "firing") -> None:
        """Each alert: name, service, severity (warning/critical/none), summary, description, age,
        namespace, status, labels (extra)."""
        rendered = []
        for a in alerts:
            st = a.get("status", status)
            labels = {"alertname": a["name"], "cluster": self.cluster, "namespace": a.get("namespace", "prod"),
                      "severity": a.get("severity", "warning"),
                      **({"service": a["service"]} if a.get("service") else {}), **a.get("labels", {})}
            rendered.append({"status": st, "labels": labels,
                             "annotations": {"summary": a.get("summary", a["name"]),
                                             "description": a.get("description", "")},
                             "startsAt": self._t(offset - a.get("age", 0)),
                             "endsAt": self._t(offset) if st == "resolved" else NEVER,
                             "generatorURL": f"http://prometheus.{self.cluster}:9090/graph?g0.expr={a['name']}",
                             "fingerprint": _digest(sorted(labels.items()))})
        group = {"alertname": alerts[0]["name"], "cluster": self.cluster}
        self._add(offset, "alertmanager", {
            "receiver": "incident-commander", "status": status, "alerts": rendered,
            "groupLabels": group, "commonLabels": group, "commonAnnotations": {},
            "externalURL": f"http://alertmanager.{self.cluster}:9093", "version": "4",
            "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}", "truncatedAlerts": 0})

    # CloudWatch alarm state change, delivered by an EventBridge rule ----------------------------
    def cloudwatch(self, offset: float, alarm: str, state: str, namespace: str, metric: str,
                   dimensions: dict[str, str], reason: str = "", description: str = "") -> None:
        arn = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{alarm}"
        previous = "OK" if state == "ALARM" else "ALARM"
        self._add(offset, "cloudwatch", {
            "version": "0", "id": _uuid(alarm, offset, state), "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": self.account, "time": self._t(offset), "region": self.region,
            "resources": [arn],
            "detail": {"alarmName": alarm,
                       "state": {"value": state, "reason": reason or f"Threshold Crossed: {metric}",
                                 "timestamp": self._t(offset)},
                       "previousState": {"value": previous, "timestamp": self._t(offset - 300)},
                       "configuration": {"description": description, "metrics": [{
                           "id": _digest(alarm, n=8), "returnData": True,
                           "metricStat": {"metric": {"namespace": namespace, "name": metric,
                                                     "dimensions": dimensions},
                                          "period": 60, "stat": "Average"}}]}}})

    # CloudWatch alarm notification through an SNS topic's HTTPS subscription --------------------
    def cloudwatch_sns(self, offset: float, alarm: str, state: str, namespace: str, metric: str,
                       dimensions: dict[str, str], reason: str = "", description: str = "",
                       threshold: float = 0.0, comparison: str = "GreaterThanThreshold") -> None:
        topic = f"arn:aws:sns:{self.region}:{self.account}:ops-alarms"
        stamp = self.at(offset).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        message = {
            "AlarmName": alarm, "AlarmDescription": description, "AWSAccountId": self.account,
            "AlarmConfigurationUpdatedTimestamp": "2025-11-02T09:00:00.000+0000",
            "NewStateValue": state, "NewStateReason": reason or f"Threshold Crossed: {metric}",
            "StateChangeTime": stamp, "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{alarm}",
            "OldStateValue": "OK" if state == "ALARM" else "ALARM", "OKActions": [topic], "AlarmActions": [topic],
            "InsufficientDataActions": [],
            "Trigger": {"MetricName": metric, "Namespace": namespace, "StatisticType": "Statistic",
                        "Statistic": "AVERAGE", "Unit": None,
                        "Dimensions": [{"value": v, "name": k} for k, v in dimensions.items()],
                        "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 3,
                        "ComparisonOperator": comparison, "Threshold": threshold,
                        "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}}
        self._add(offset, "sns", {
            "Type": "Notification", "MessageId": _uuid(alarm, offset, state), "TopicArn": topic,
            "Subject": f'{state}: "{alarm}" in US East (N. Virginia)'[:100], "Message": json.dumps(message),
            "Timestamp": self._t(offset), "SignatureVersion": "1", "Signature": _digest(alarm, offset, n=64),
            "SigningCertURL": f"https://sns.{self.region}.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeURL": f"https://sns.{self.region}.amazonaws.com/?Action=Unsubscribe"})


    # Grafana unified alerting webhook (version 1: Alertmanager's shape plus Grafana's fields) -----
    def grafana(self, offset: float, alerts: list[dict[str, Any]], status: str = "firing", org: int = 1) -> None:
        """Each alert: name, service, severity, summary, age, status, labels (extra), value."""
        base = "https://grafana.example.com"
        rendered = []
        for a in alerts:
            st = a.get("status", status)
            labels = {"alertname": a["name"], "cluster": self.cluster, "grafana_folder": a.get("folder", "SRE"),
                      "severity": a.get("severity", "warning"),
                      **({"service": a["service"]} if a.get("service") else {}), **a.get("labels", {})}
            fp = _digest(sorted(labels.items()))
            rendered.append({
                "status": st, "labels": labels,
                "annotations": {"summary": a.get("summary", a["name"]), "description": a.get("description", "")},
                "startsAt": self._t(offset - a.get("age", 0)), "endsAt": self._t(offset) if st == "resolved" else NEVER,
                "generatorURL": f"{base}/alerting/grafana/{fp}/view?orgId={org}", "fingerprint": fp,
                "silenceURL": f"{base}/alerting/silence/new?alertmanager=grafana&matcher=alertname%3D{a['name']}",
                "dashboardURL": f"{base}/d/{_digest(a['name'], n=9)}?orgId={org}", "panelURL": "",
                "values": {"B": a.get("value", 1.0), "C": 1}, "valueString": f"[ var='B' value={a.get('value', 1.0)} ]"})
        group = {"alertname": alerts[0]["name"], "grafana_folder": alerts[0].get("folder", "SRE")}
        firing = sum(1 for r in rendered if r["status"] == "firing")
        self._add(offset, "grafana", {
            "receiver": "incident-commander", "status": status, "orgId": org, "alerts": rendered,
            "groupLabels": group, "commonLabels": group, "commonAnnotations": {},
            "externalURL": f"{base}/", "version": "1", "truncatedAlerts": 0,
            "groupKey": "{}/{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}",
            "title": f"[{status.upper()}:{firing}] {alerts[0]['name']}", "state": "alerting" if firing else "ok",
            "message": alerts[0].get("summary", alerts[0]["name"])})

    # PagerDuty Events API v2 (trigger / resolve) ---------------------------------------------------
    def pagerduty(self, offset: float, action: str, dedup_key: str, summary: str = "", source: str = "",
                  severity: str = "error", component: str = "", group: str = "", klass: str = "",
                  details: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"routing_key": "R0" + _digest("routing", n=30), "event_action": action,
                                "dedup_key": dedup_key}
        if action == "trigger":
            body["payload"] = {"summary": summary, "source": source, "severity": severity,
                               "timestamp": self._t(offset), "component": component, "group": group,
                               "class": klass, "custom_details": details or {}}
            body["client"] = "Synthetic checks"
            body["client_url"] = f"https://synthetics.example.com/checks/{_digest(dedup_key, n=8)}"
        self._add(offset, "pagerduty", body)

    # Opsgenie Alert API (create / close) -------------------------------------------------------------
    def opsgenie(self, offset: float, alias: str, message: str = "", action: str = "create",
                 priority: str = "P3", entity: str = "", description: str = "", tags: list[str] | None = None,
                 details: dict[str, str] | None = None) -> None:
        if action == "create":
            body: dict[str, Any] = {"message": message, "alias": alias, "description": description,
                                    "responders": [{"name": "sre-oncall", "type": "team"}], "tags": tags or [],
                                    "details": details or {}, "entity": entity, "source": "apm", "priority": priority}
        else:
            body = {"action": action, "alias": alias, "note": "condition cleared", "source": "apm"}
        self._add(offset, "opsgenie", body)

    # Datadog webhook, rendered with the template documented in ingest/datadog.py -------------------
    def datadog(self, offset: float, monitor_id: int, title: str, transition: str = "Triggered",
                alert_type: str = "error", priority: str = "P2", metric: str = "", scope: str = "",
                tags: str = "", body: str = "", hostname: str = "") -> None:
        at_ms = int(self.at(offset).timestamp() * 1000)
        self._add(offset, "datadog", {
            "alert_id": f"{monitor_id}/{scope}" if scope else str(monitor_id), "alert_transition": transition,
            "alert_type": alert_type, "alert_priority": priority, "alert_title": title,
            "alert_status": f"{metric} over threshold on {scope}", "alert_metric": metric, "alert_scope": scope,
            "alert_cycle_key": _digest(monitor_id, scope, n=19), "aggreg_key": _digest(monitor_id, n=12),
            "title": f"[{transition}] {title}", "body": body, "date": str(at_ms), "last_updated": str(at_ms),
            "hostname": hostname, "tags": tags, "link": f"https://app.datadoghq.com/monitors/{monitor_id}",
            "org": {"id": "424242", "name": "Example Shop"}})


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    complexity: str
    impact_per_minute: float
    topology_yaml: str
    expected_category: str
    expected_service: str
    storm: Callable[[Storm], None]
    story: str = ""

    def render(self, start: datetime = EPOCH, speed: float = 1.0) -> list[Delivery]:
        """The storm's deliveries, in delivery order, for a storm starting at `start`."""
        s = Storm(start, speed)
        self.storm(s)
        return sorted(s.deliveries, key=lambda d: d.at)

    @property
    def duration_s(self) -> float:
        deliveries = self.render()
        return (deliveries[-1].at - EPOCH).total_seconds() if deliveries else 0.0

    @property
    def sources(self) -> list[str]:
        return sorted({d.source for d in self.render()})
