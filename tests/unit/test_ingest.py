"""Parsers: real-format payloads map to canonical alerts; bad input names the field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from incident_commander.ingest import PARSERS, PayloadError, UnknownSourceError, parse
from incident_commander.models import AlertStatus, Severity

from tests.conftest import SHARED, load_event

NOW = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)


def test_alertmanager_v4_maps_every_alert():
    alerts = parse("alertmanager", load_event("alertmanager_firing.json"), NOW)
    assert [a.key for a in alerts] == ["5f1c2a9b7d3e4f60", "a0b1c2d3e4f50617"]
    crash = alerts[0]
    assert crash.status == AlertStatus.FIRING and crash.severity == Severity.CRITICAL
    assert crash.name == "KubePodCrashLooping" and crash.service_hints[0] == "payments-api"
    assert crash.scope == "cluster:prod-eu-1" and crash.starts_at.minute == 14
    assert crash.raw["groupKey"] == '{}:{namespace="payments"}'
    assert alerts[1].severity == Severity.MEDIUM and alerts[1].service_hints == ("checkout",)


def test_alertmanager_resolved_and_missing_fingerprint():
    resolved = parse("alertmanager", load_event("alertmanager_resolved.json"), NOW)[0]
    assert resolved.status == AlertStatus.RESOLVED and resolved.ends_at is not None
    body = load_event("alertmanager_firing.json")
    del body["alerts"][0]["fingerprint"]
    a1 = parse("alertmanager", body, NOW)[0]
    a2 = parse("alertmanager", copy.deepcopy(body), NOW)[0]
    assert len(a1.key) == 16 and a1.key == a2.key  # stable key from the label set


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.update(alerts="nope"), "alerts"),
    (lambda b: b["alerts"][0]["labels"].pop("alertname"), "alerts[0].labels.alertname"),
    (lambda b: b["alerts"][1].update(status="exploded"), "alerts[1].status"),
    (lambda b: b["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
    (lambda b: b.update(version="3"), "version"),
    (lambda b: b["alerts"][0]["labels"].update(severity={"x": 1}), "alerts[0].labels.severity"),
])
def test_alertmanager_errors_name_the_field(mutate, field):
    body = load_event("alertmanager_firing.json")
    mutate(body)
    with pytest.raises(PayloadError) as err:
        parse("alertmanager", body, NOW)
    assert err.value.field == field


def test_cloudwatch_eventbridge_and_sns_give_the_alarm_arn_as_key():
    cw = parse("cloudwatch", load_event("cloudwatch_alarm_eventbridge.json"), NOW)[0]
    assert cw.key == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:orders-db-FreeStorageSpace-low"
    assert cw.service_hints[0] == "orders-db" and cw.status == AlertStatus.FIRING
    assert cw.scope == "aws:111122223333:eu-west-1" and cw.starts_at.hour == 10
    sns = parse("sns", load_event("sns_cloudwatch_alarm.json"), NOW)[0]
    assert sns.key == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-lambda-Errors"
    assert sns.service_hints[0] == "checkout-handler" and sns.severity == Severity.HIGH
    assert sns.scope == "aws:111122223333:eu-west-1"


def test_cloudwatch_errors_name_the_field():
    body = load_event("cloudwatch_alarm_eventbridge.json")
    body["detail"]["state"]["value"] = "MAYBE"
    with pytest.raises(PayloadError, match="detail.state.value"):
        parse("cloudwatch", body, NOW)
    sns = load_event("sns_cloudwatch_alarm.json")
    sns["Records"][0]["Sns"]["Message"] = "{not json"
    with pytest.raises(PayloadError, match=r"Records\[0\]\.Sns\.Message"):
        parse("sns", sns, NOW)


def test_unknown_source():
    with pytest.raises(UnknownSourceError):
        parse("nagios", {}, NOW)


PAYLOADS = SHARED / "payloads"
REAL = [("alertmanager", "alertmanager_v4_firing_captured.json"), ("alertmanager", "alertmanager_v4_resolved_captured.json"),
        ("alertmanager", "alertmanager_v4_prometheus-msteams_fixture.json"),
        ("cloudwatch", "cloudwatch_alarm_state_change_eventbridge_single_metric.json"),
        ("cloudwatch", "cloudwatch_alarm_state_change_eventbridge_metric_math.json"),
        ("sns", "cloudwatch_alarm_via_sns_lambda_event_single_metric.json"),
        ("sns", "cloudwatch_alarm_via_sns_lambda_event_multiple_metrics.json")]


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/payloads not present")
@pytest.mark.parametrize("source, name", REAL)
def test_real_payloads_from_the_tools_parse(source, name):
    alerts = parse(source, json.loads((PAYLOADS / name).read_text()), NOW)
    assert alerts and all(a.key and a.name for a in alerts)


def test_every_registered_source_is_a_contract_source():
    from incident_commander import names

    assert set(PARSERS) <= set(names.SOURCES)
