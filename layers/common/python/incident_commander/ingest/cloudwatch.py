"""CloudWatch alarms: the EventBridge "CloudWatch Alarm State Change" event, and the SNS notification.

Key: the alarm ARN (`resources[0]`, or `AlarmArn` over SNS) — the same alarm gives the same key on
both paths, and the same source (`cloudwatch`), so an alarm delivered both ways is one alert.
Service hints come from the metric dimensions (FunctionName, DBInstanceIdentifier, LoadBalancer,
TableName, QueueName...), then the alarm name.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    """The EventBridge "CloudWatch Alarm State Change" event; also the Lambda alarm-action event
    (`alarmArn` + `alarmData`, the same alarm document), which a Lambda alarm action delivers."""
    b = u.obj(body, "body")
    if "alarmData" in b and "detail-type" not in b:
        arn = u.text(b.get("alarmArn"), "alarmArn", max_len=2048)
        return _alarm(u.obj(b.get("alarmData"), "alarmData"), "alarmData", arn, b.get("accountId"), b.get("region"),
                      b.get("time"), received_at, b)
    if b.get("detail-type") != "CloudWatch Alarm State Change":
        raise PayloadError("detail-type", f"expected 'CloudWatch Alarm State Change', got {str(b.get('detail-type'))[:60]!r}")
    resources = u.lst(b.get("resources"), "resources")
    if not resources or not isinstance(resources[0], str) or not resources[0].strip():
        raise PayloadError("resources[0]", "missing alarm ARN")
    arn = u.text(resources[0], "resources[0]", max_len=2048)
    return _alarm(u.obj(b.get("detail"), "detail"), "detail", arn, b.get("account"), b.get("region"), b.get("time"),
                  received_at, b)


def _alarm(detail: dict[str, Any], f: str, arn: str, account: Any, region: Any, time: Any, received_at: datetime,
           raw: dict[str, Any]) -> list[Alert]:
    alarm = u.text(detail.get("alarmName"), f"{f}.alarmName", max_len=512)
    state = u.obj(detail.get("state"), f"{f}.state")
    value = u.text(state.get("value"), f"{f}.state.value")
    if value not in STATES:
        raise PayloadError(f"{f}.state.value", f"expected ALARM, OK or INSUFFICIENT_DATA, got {value[:40]!r}")
    config = detail.get("configuration") if isinstance(detail.get("configuration"), dict) else {}
    dims: dict[str, str] = {}
    metric_names: list[str] = []
    namespaces: list[str] = []
    for i, m in enumerate(u.lst(config.get("metrics") or [], f"{f}.configuration.metrics")):
        field = f"{f}.configuration.metrics[{i}]"
        stat = u.obj(m, field).get("metricStat") or {}
        metric = u.obj(u.obj(stat, f"{field}.metricStat").get("metric") or {}, f"{field}.metricStat.metric")
        dims.update(u.str_map(metric.get("dimensions"), f"{field}.metricStat.metric.dimensions"))
        if metric.get("name"):
            metric_names.append(str(metric["name"]))
        if metric.get("namespace"):
            namespaces.append(str(metric["namespace"]))
    description = str(config.get("description") or "")
    reason = str(state.get("reason") or "")
    account, region = str(account or ""), str(region or "")
    labels = {"alarm_name": alarm, **{f"dim_{k}": v for k, v in dims.items()},
              "metric": ",".join(metric_names), "namespace": ",".join(namespaces),
              "account": account, "region": region}
    return [Alert(
        source="cloudwatch", key=arn, status=STATES[value],
        severity=Severity.LOW if value == "INSUFFICIENT_DATA" else _severity_from(f"{alarm} {description}", Severity.HIGH),
        name=alarm, title=(description or alarm)[:1024], description=reason[:4096],
        service_hints=_hints(dims, alarm), labels={k: v for k, v in labels.items() if v},
        starts_at=u.when(state.get("timestamp"), f"{f}.state.timestamp") or u.when(time, "time"),
        received_at=received_at,
        scope=f"aws:{account}:{region}",
        raw=raw,
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
        raise PayloadError(f"{field}.NewStateValue", f"expected ALARM, OK or INSUFFICIENT_DATA, got {value[:40]!r}")
    trigger = u.obj(m.get("Trigger") or {}, f"{field}.Trigger")
    dims: dict[str, str] = {}
    raw_dims = list(u.lst(trigger.get("Dimensions") or [], f"{field}.Trigger.Dimensions"))
    for i, metric in enumerate(u.lst(trigger.get("Metrics") or [], f"{field}.Trigger.Metrics")):
        mf = f"{field}.Trigger.Metrics[{i}]"
        stat = u.obj(u.obj(metric, mf).get("MetricStat") or {}, f"{mf}.MetricStat")
        raw_dims += u.lst(u.obj(stat.get("Metric") or {}, f"{mf}.MetricStat.Metric").get("Dimensions") or [],
                          f"{mf}.MetricStat.Metric.Dimensions")
    for i, d in enumerate(raw_dims):
        d = u.obj(d, f"{field}.Trigger.Dimensions[{i}]")
        name, val = d.get("name") or d.get("Name"), d.get("value") or d.get("Value")
        if isinstance(name, str) and isinstance(val, (str, int, float)) and name and val != "":
            dims[name[:256]] = str(val)[:1024]
    description = str(m.get("AlarmDescription") or "")
    labels = {"alarm_name": alarm, **{f"dim_{k}": v for k, v in dims.items()},
              "metric": str(trigger.get("MetricName") or ""), "namespace": str(trigger.get("Namespace") or ""),
              "account": str(m.get("AWSAccountId", "")), "region": str(m.get("Region", "")), "delivery": "sns"}
    region = arn.split(":")[3] if arn.count(":") >= 5 else str(m.get("Region", ""))
    return [Alert(
        source="cloudwatch", key=arn, status=STATES[value],
        severity=Severity.LOW if value == "INSUFFICIENT_DATA" else _severity_from(f"{alarm} {description}", Severity.HIGH),
        name=alarm, title=(description or alarm)[:1024], description=str(m.get("NewStateReason") or "")[:4096],
        service_hints=_hints(dims, alarm), labels={k: v for k, v in labels.items() if v},
        starts_at=u.when(m.get("StateChangeTime"), f"{field}.StateChangeTime"),
        received_at=received_at,
        scope=f"aws:{m.get('AWSAccountId', '')}:{region}",
        raw=m,
    )]


# --- SNS HTTP(S) subscriptions ---------------------------------------------------------------------------
SNS_CONTROL_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
_SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$")
_TOPIC_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_.-]{1,256}$")


def sns_control(body: Any) -> str | None:
    """The `Type` of an SNS subscription control message (not an alarm), else None."""
    kind = body.get("Type") if isinstance(body, dict) else None
    return kind if kind in SNS_CONTROL_TYPES else None


def subscribe_url(body: dict[str, Any]) -> tuple[str, str]:
    """(SubscribeURL, TopicArn) of a SubscriptionConfirmation, checked so that confirming it can only
    ever call SNS's own ConfirmSubscription for that topic (the URL is fetched: no other host, scheme,
    action or topic is accepted)."""
    topic = u.text(body.get("TopicArn"), "TopicArn", max_len=1024)
    if not _TOPIC_ARN.match(topic):
        raise PayloadError("TopicArn", "not an SNS topic ARN")
    u.text(body.get("Token"), "Token", max_len=2048)
    url = u.text(body.get("SubscribeURL"), "SubscribeURL", max_len=4096)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or "") or parts.port or parts.username:
        raise PayloadError("SubscribeURL", "expected https://sns.<region>.amazonaws.com/...")
    region = topic.split(":")[3]
    if parts.hostname.split(".")[1] != region:  # type: ignore[union-attr]
        raise PayloadError("SubscribeURL", f"not the topic's region ({region})")
    if query.get("Action") != ["ConfirmSubscription"] or query.get("TopicArn") != [topic]:
        raise PayloadError("SubscribeURL", "expected Action=ConfirmSubscription for the message's TopicArn")
    return url, topic
