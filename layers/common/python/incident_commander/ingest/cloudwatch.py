"""CloudWatch alarms: the EventBridge "CloudWatch Alarm State Change" event, and the SNS notification.

Key: the alarm ARN (`resources[0]`, or `AlarmArn` over SNS) — the same alarm gives the same key on
both paths. Service hints come from the metric dimensions (FunctionName, DBInstanceIdentifier,
LoadBalancer, TableName, QueueName...), then the alarm name.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..models import Alert, AlertStatus, Severity
from . import _util as u
from .errors import PayloadError

DIMENSION_PRIORITY = ("ServiceName", "FunctionName", "DBInstanceIdentifier", "DBClusterIdentifier", "TableName",
                      "QueueName", "TopicName", "LoadBalancer", "TargetGroup", "ClusterName", "CacheClusterId",
                      "DomainName", "StreamName", "BucketName", "ApiName", "StateMachineArn", "AutoScalingGroupName",
                      "InstanceId")
STATES = {"ALARM": AlertStatus.FIRING, "OK": AlertStatus.RESOLVED, "INSUFFICIENT_DATA": AlertStatus.FIRING}


def _severity_from(text: str, default: Severity) -> Severity:
    low = text.lower()
    for word in ("critical", "sev1", "p1", "high", "sev2", "p2", "warning", "low", "info"):
        if word in low.replace("-", "").replace("_", ""):
            return Severity.normalise(word)
    return default


def _hints(dimensions: dict[str, str], alarm_name: str) -> tuple[str, ...]:
    ordered = [dimensions[k] for k in DIMENSION_PRIORITY if dimensions.get(k)]
    ordered += [v for k, v in dimensions.items() if k not in DIMENSION_PRIORITY and v]
    return tuple(ordered) + (alarm_name,)


def parse_eventbridge(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    if b.get("detail-type") != "CloudWatch Alarm State Change":
        raise PayloadError("detail-type", f"expected 'CloudWatch Alarm State Change', got {b.get('detail-type')!r}")
    detail = u.obj(b.get("detail"), "detail")
    resources = u.lst(b.get("resources"), "resources")
    if not resources or not isinstance(resources[0], str):
        raise PayloadError("resources[0]", "missing alarm ARN")
    alarm = u.text(detail.get("alarmName"), "detail.alarmName", max_len=512)
    state = u.obj(detail.get("state"), "detail.state")
    value = u.text(state.get("value"), "detail.state.value")
    if value not in STATES:
        raise PayloadError("detail.state.value", f"expected ALARM, OK or INSUFFICIENT_DATA, got {value!r}")
    config = detail.get("configuration") if isinstance(detail.get("configuration"), dict) else {}
    dims: dict[str, str] = {}
    metric_names: list[str] = []
    namespaces: list[str] = []
    for i, m in enumerate(config.get("metrics") or []):
        stat = (u.obj(m, f"detail.configuration.metrics[{i}]").get("metricStat") or {}).get("metric") or {}
        dims.update(u.str_map(stat.get("dimensions"), f"detail.configuration.metrics[{i}].metricStat.metric.dimensions"))
        if stat.get("name"):
            metric_names.append(str(stat["name"]))
        if stat.get("namespace"):
            namespaces.append(str(stat["namespace"]))
    description = str(config.get("description") or "")
    reason = str(state.get("reason") or "")
    labels = {"alarm_name": alarm, **{f"dim_{k}": v for k, v in dims.items()},
              "metric": ",".join(metric_names), "namespace": ",".join(namespaces),
              "account": str(b.get("account", "")), "region": str(b.get("region", ""))}
    return [Alert(
        source="cloudwatch", key=resources[0], status=STATES[value],
        severity=Severity.LOW if value == "INSUFFICIENT_DATA" else _severity_from(f"{alarm} {description}", Severity.HIGH),
        name=alarm, title=description or alarm, description=reason[:4096],
        service_hints=_hints(dims, alarm), labels={k: v for k, v in labels.items() if v},
        starts_at=u.when(state.get("timestamp"), "detail.state.timestamp") or u.when(b.get("time"), "time"),
        received_at=received_at,
        scope=f"aws:{b.get('account', '')}:{b.get('region', '')}",
        raw=b,
    )]


def _sns_message(b: dict[str, Any]) -> tuple[str, str]:
    """(message, field) from a Lambda SNS event or an SNS HTTP notification."""
    if "Records" in b:
        records = u.lst(b["Records"], "Records")
        if not records:
            raise PayloadError("Records", "empty")
        sns = u.obj(u.obj(records[0], "Records[0]").get("Sns"), "Records[0].Sns")
        return u.text(sns.get("Message"), "Records[0].Sns.Message", max_len=262144), "Records[0].Sns.Message"
    return u.text(b.get("Message"), "Message", max_len=262144), "Message"


def parse_sns(body: Any, received_at: datetime) -> list[Alert]:
    b = u.obj(body, "body")
    message, field = _sns_message(b)
    try:
        m = u.obj(json.loads(message), field)
    except json.JSONDecodeError as exc:
        raise PayloadError(field, f"not a CloudWatch alarm JSON document ({exc.msg})") from exc
    alarm = u.text(m.get("AlarmName"), f"{field}.AlarmName", max_len=512)
    arn = u.text(m.get("AlarmArn"), f"{field}.AlarmArn", max_len=2048)
    value = u.text(m.get("NewStateValue"), f"{field}.NewStateValue")
    if value not in STATES:
        raise PayloadError(f"{field}.NewStateValue", f"expected ALARM, OK or INSUFFICIENT_DATA, got {value!r}")
    trigger = m.get("Trigger") if isinstance(m.get("Trigger"), dict) else {}
    dims: dict[str, str] = {}
    raw_dims = trigger.get("Dimensions") or []
    for metric in trigger.get("Metrics") or []:
        raw_dims += (((metric or {}).get("MetricStat") or {}).get("Metric") or {}).get("Dimensions") or []
    for i, d in enumerate(raw_dims):
        d = u.obj(d, f"{field}.Trigger.Dimensions[{i}]")
        name, val = d.get("name") or d.get("Name"), d.get("value") or d.get("Value")
        if name and val:
            dims[str(name)] = str(val)
    description = str(m.get("AlarmDescription") or "")
    labels = {"alarm_name": alarm, **{f"dim_{k}": v for k, v in dims.items()},
              "metric": str(trigger.get("MetricName") or ""), "namespace": str(trigger.get("Namespace") or ""),
              "account": str(m.get("AWSAccountId", "")), "region": str(m.get("Region", ""))}
    region = arn.split(":")[3] if arn.count(":") >= 5 else str(m.get("Region", ""))
    return [Alert(
        source="sns", key=arn, status=STATES[value],
        severity=Severity.LOW if value == "INSUFFICIENT_DATA" else _severity_from(f"{alarm} {description}", Severity.HIGH),
        name=alarm, title=description or alarm, description=str(m.get("NewStateReason") or "")[:4096],
        service_hints=_hints(dims, alarm), labels={k: v for k, v in labels.items() if v},
        starts_at=u.when(m.get("StateChangeTime"), f"{field}.StateChangeTime"),
        received_at=received_at,
        scope=f"aws:{m.get('AWSAccountId', '')}:{region}",
        raw=m,
    )]
