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


def test_cloudwatch_eventbridge_and_sns_give_the_alarm_arn_as_key():
    cw = parse("cloudwatch", load_event("cloudwatch_alarm_eventbridge.json"), NOW)[0]
    assert cw.key == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:orders-db-FreeStorageSpace-low"
    assert cw.service_hints[0] == "orders-db" and cw.status == AlertStatus.FIRING
    assert cw.scope == "aws:111122223333:eu-west-1" and cw.starts_at.hour == 10
    sns = parse("sns", load_event("sns_cloudwatch_alarm.json"), NOW)[0]
    assert sns.key == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-lambda-Errors"
    assert sns.service_hints[0] == "checkout-handler" and sns.severity == Severity.HIGH
    assert sns.scope == "aws:111122223333:eu-west-1"


# --- Grafana, PagerDuty, Opsgenie, Datadog ---------------------------------------------------------
def test_grafana_unified_alerting_maps_every_alert():
    firing, resolved = parse("grafana", load_event("grafana_firing.json"), NOW)
    assert (firing.source, firing.key, firing.status, firing.severity) == \
        ("grafana", "7e1d2c3b4a596877", AlertStatus.FIRING, Severity.CRITICAL)
    assert firing.service_hints[0] == "orders-db" and firing.scope == "cluster:prod-eu-1"
    assert firing.title == "orders-db CPU above 90% for 5m" and firing.raw["values"] == {"A": 96.2, "B": 1}
    assert resolved.status == AlertStatus.RESOLVED and resolved.ends_at.minute == 14
    assert resolved.service_hints == ("checkout",) and resolved.severity == Severity.MEDIUM


def test_pagerduty_trigger_acknowledge_resolve_share_the_dedup_key():
    (t,) = parse("pagerduty", load_event("pagerduty_trigger.json"), NOW)
    (a,) = parse("pagerduty", load_event("pagerduty_acknowledge.json"), NOW)
    (r,) = parse("pagerduty", load_event("pagerduty_resolve.json"), NOW)
    assert t.key == a.key == r.key == "orders-db/disk-full"
    assert [t.status, a.status, r.status] == [AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED]
    assert t.severity == Severity.HIGH and t.name == "disk full" and t.title == "Disk 97% full on orders-db-0"
    assert t.service_hints[:2] == ("orders-db", "orders-db") and t.starts_at.second == 30
    assert t.labels["detail_free_gb"] == "3" and t.group_key == "prod-databases"
    assert "routing_key" not in json.dumps(t.raw) and "R0UT1NG" not in t.scope  # the routing key is a credential
    assert t.scope == a.scope == r.scope


def test_pagerduty_trigger_without_dedup_key_gets_a_stable_one():
    body = load_event("pagerduty_trigger.json")
    del body["dedup_key"]
    k1 = parse("pagerduty", body, NOW)[0].key
    assert k1 == parse("pagerduty", copy.deepcopy(body), NOW)[0].key and len(k1) == 16


def test_pagerduty_change_event_and_v3_webhook():
    (change,) = parse("pagerduty", load_event("pagerduty_change_event.json"), NOW)
    assert change.is_change_event and change.service_hints[0] == "orders-api"
    (v3,) = parse("pagerduty", load_event("pagerduty_v3_incident_triggered.json"), NOW)
    assert v3.key == "orders-db/disk-full" and v3.status == AlertStatus.FIRING and v3.severity == Severity.CRITICAL
    assert v3.service_hints == ("orders-db",)


def test_opsgenie_create_close_and_webhook():
    (c,) = parse("opsgenie", load_event("opsgenie_create.json"), NOW)
    assert (c.key, c.status, c.severity) == ("payments-api/error-rate", AlertStatus.FIRING, Severity.HIGH)
    assert c.service_hints[0] == "payments-api" and c.scope == "opsgenie:prod-eu-1"
    assert c.labels["service"] == "payments-api" and c.labels["tag_Critical"] == ""
    (closed,) = parse("opsgenie", load_event("opsgenie_close.json"), NOW)
    assert closed.key == c.key and closed.status == AlertStatus.RESOLVED
    assert parse("opsgenie", {"alias": c.key}, NOW)[0].status == AlertStatus.RESOLVED  # Opsgenie's own close body
    (ack,) = parse("opsgenie", load_event("opsgenie_webhook_acknowledge.json"), NOW)
    assert ack.key == c.key and ack.status == AlertStatus.ACKNOWLEDGED
    assert parse("opsgenie", {"action": "AddNote", "alert": {"alias": "x"}}, NOW) == []


def test_datadog_documented_template_key_status_and_service():
    (t,) = parse("datadog", load_event("datadog_triggered.json"), NOW)
    (r,) = parse("datadog", load_event("datadog_recovered.json"), NOW)
    assert t.key == r.key == "48213977"
    assert (t.status, r.status, t.severity) == (AlertStatus.FIRING, AlertStatus.RESOLVED, Severity.CRITICAL)
    assert t.name == "High 5xx rate on checkout" and t.service_hints[0] == "checkout"
    assert t.scope == "cluster:prod-eu-1" and t.starts_at == datetime(2026, 3, 2, 10, 12, tzinfo=UTC)


def test_datadog_template_fields_match_the_documented_template():
    from incident_commander.ingest.datadog import TEMPLATE

    assert set(load_event("datadog_triggered.json")) == set(TEMPLATE)


def test_cloudwatch_lambda_alarm_action_and_sns_are_the_same_alert_as_eventbridge():
    (action,) = parse("cloudwatch", load_event("cloudwatch_alarm_lambda_action.json"), NOW)
    assert action.key == "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:orders-queue-age"
    assert action.service_hints[0] == "orders-queue" and action.status == AlertStatus.FIRING
    sns = parse("sns", load_event("sns_cloudwatch_alarm.json"), NOW)[0]
    assert sns.source == "cloudwatch" and sns.labels["delivery"] == "sns"


def test_service_resolution_through_topology_names_aliases_and_arns():
    from incident_commander.topology import Topology

    topo = Topology.parse_yaml("""
services:
  orders-db: {aliases: [orders-postgres]}
  checkout-handler: {aliases: [checkout-fn]}
  payments-api: {}
""")
    am = parse("alertmanager", load_event("alertmanager_firing.json"), NOW)[0]
    assert topo.resolve_hints(am.service_hints) == ("payments-api", "payments-api")
    cw = parse("cloudwatch", load_event("cloudwatch_alarm_eventbridge.json"), NOW)[0]
    assert topo.resolve_hints(cw.service_hints)[0] == "orders-db"
    sns = parse("sns", load_event("sns_cloudwatch_alarm.json"), NOW)[0]
    assert topo.resolve_hints(sns.service_hints)[0] == "checkout-handler"
    arn = ("arn:aws:rds:eu-west-1:111122223333:db:orders-postgres",)
    assert topo.resolve_hints(arn)[0] == "orders-db"


OWN = [("grafana", "grafana_firing.json"), ("pagerduty", "pagerduty_trigger.json"),
       ("pagerduty", "pagerduty_acknowledge.json"), ("pagerduty", "pagerduty_resolve.json"),
       ("pagerduty", "pagerduty_change_event.json"), ("pagerduty", "pagerduty_v3_incident_triggered.json"),
       ("opsgenie", "opsgenie_create.json"), ("opsgenie", "opsgenie_close.json"),
       ("opsgenie", "opsgenie_webhook_acknowledge.json"), ("datadog", "datadog_triggered.json"),
       ("datadog", "datadog_recovered.json"), ("cloudwatch", "cloudwatch_alarm_lambda_action.json")]


@pytest.mark.parametrize("source, name", OWN)
def test_own_fixtures_round_trip_through_the_stream_document(source, name):
    """What the API writes to Kinesis (model_dump) is what detection reads back (model_validate)."""
    from incident_commander.models import Alert

    for a in parse(source, load_event(name), NOW):
        assert Alert.model_validate(json.loads(json.dumps(a.model_dump(mode="json")))) == a


PAYLOADS = SHARED / "payloads"
REAL = [("alertmanager", "alertmanager_v4_firing_captured.json", 2),
        ("alertmanager", "alertmanager_v4_resolved_captured.json", 2),
        ("alertmanager", "alertmanager_v4_prometheus-msteams_fixture.json", 1),
        ("grafana", "grafana_unified_alerting_webhook.json", 2),
        ("grafana", "grafana_unified_alerting_webhook_v11_zulip_fixture.json", 1),
        ("cloudwatch", "cloudwatch_alarm_state_change_eventbridge_single_metric.json", 1),
        ("cloudwatch", "cloudwatch_alarm_state_change_eventbridge_metric_math.json", 1),
        ("cloudwatch", "cloudwatch_alarm_lambda_action_single_metric_powertools.json", 1),
        ("cloudwatch", "cloudwatch_alarm_lambda_action_composite_powertools.json", 1),
        ("sns", "cloudwatch_alarm_via_sns_lambda_event_single_metric.json", 1),
        ("sns", "cloudwatch_alarm_via_sns_lambda_event_multiple_metrics.json", 1),
        ("pagerduty", "pagerduty_events_v2_trigger.json", 1),
        ("pagerduty", "pagerduty_events_v2_acknowledge.json", 1),
        ("pagerduty", "pagerduty_events_v2_resolve.json", 1),
        ("pagerduty", "pagerduty_v3_webhook_incident_triggered_zulip_fixture.json", 1),
        ("pagerduty", "pagerduty_v3_webhook_incident_resolved_zulip_fixture.json", 1),
        ("pagerduty", "pagerduty_v3_webhook_incident_priority_updated.json", 0),
        ("opsgenie", "opsgenie_create_alert_request.json", 1),
        ("opsgenie", "opsgenie_outgoing_webhook_create_zulip_fixture.json", 1)]


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/payloads not present")
@pytest.mark.parametrize("source, name, count", REAL)
def test_real_payloads_from_the_tools_parse(source, name, count):
    alerts = parse(source, json.loads((PAYLOADS / name).read_text()), NOW)
    assert len(alerts) == count and all(a.key and a.name for a in alerts)


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/payloads not present")
def test_real_payload_keys_follow_the_replay_contract():
    def one(source, name):
        return parse(source, json.loads((PAYLOADS / name).read_text()), NOW)

    assert [a.key for a in one("grafana", "grafana_unified_alerting_webhook.json")] == ["c6eadffa33fcdf37",
                                                                                       "bc97ff14869b13e3"]
    eb = json.loads((PAYLOADS / "cloudwatch_alarm_state_change_eventbridge_single_metric.json").read_text())
    assert one("cloudwatch", "cloudwatch_alarm_state_change_eventbridge_single_metric.json")[0].key == eb["resources"][0]
    assert one("pagerduty", "pagerduty_events_v2_trigger.json")[0].key == "samplekeyhere"
    assert one("opsgenie", "opsgenie_create_alert_request.json")[0].key == "Life is too short for no alias"
    assert one("opsgenie", "opsgenie_outgoing_webhook_create_zulip_fixture.json")[0].key == "alert-alias"


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/payloads not present")
def test_datadog_templates_parse_once_rendered_and_name_unrendered_variables():
    template = json.loads((PAYLOADS / "datadog_webhook_extended_payload_TEMPLATE.json").read_text())
    with pytest.raises(PayloadError, match="alert_id"):
        parse("datadog", template, NOW)
    values = {"$ALERT_ID": "1234", "$ALERT_TRANSITION": "Triggered", "$ALERT_TYPE": "error", "$DATE": "1772446320000",
              "$LAST_UPDATED": "1772446320000", "$ALERT_PRIORITY": "P2", "$TAGS": "service:web,env:prod"}
    rendered = {k: values.get(v, "") if isinstance(v, str) else v for k, v in template.items()}
    (a,) = parse("datadog", rendered, NOW)
    assert a.key == "1234" and a.severity == Severity.HIGH and a.service_hints == ("web",)


def _set(path, value):
    def mutate(b):
        *head, last = path
        for p in head:
            b = b[p]
        if value is _DROP:
            del b[last]
        else:
            b[last] = value
    return mutate


_DROP = object()
BAD = [  # (source, fixture, change, the field the 400 must name)
    ("alertmanager", "alertmanager_firing.json", _set(["alerts"], "nope"), "alerts"),
    ("alertmanager", "alertmanager_firing.json", _set(["alerts", 0, "labels", "alertname"], _DROP),
     "alerts[0].labels.alertname"),
    ("alertmanager", "alertmanager_firing.json", _set(["alerts", 1, "status"], "exploded"), "alerts[1].status"),
    ("alertmanager", "alertmanager_firing.json", _set(["alerts", 0, "startsAt"], "yesterday"), "alerts[0].startsAt"),
    ("alertmanager", "alertmanager_firing.json", _set(["version"], "3"), "version"),
    ("alertmanager", "alertmanager_firing.json", _set(["alerts", 0, "labels", "severity"], {"x": 1}),
     "alerts[0].labels.severity"),
    ("alertmanager", "alertmanager_firing.json", _set(["alerts", 0, "fingerprint"], 12), "alerts[0].fingerprint"),
    ("grafana", "grafana_firing.json", _set(["version"], "4"), "version"),
    ("grafana", "grafana_firing.json", _set(["groupKey"], ["x"]), "groupKey"),
    ("cloudwatch", "cloudwatch_alarm_eventbridge.json", _set(["detail", "state", "value"], "MAYBE"),
     "detail.state.value"),
    ("cloudwatch", "cloudwatch_alarm_eventbridge.json", _set(["resources"], []), "resources[0]"),
    ("sns", "sns_cloudwatch_alarm.json", _set(["Records", 0, "Sns", "Message"], "{not json"), "Records[0].Sns.Message"),
    ("pagerduty", "pagerduty_trigger.json", _set(["event_action"], "explode"), "event_action"),
    ("pagerduty", "pagerduty_trigger.json", _set(["payload", "severity"], "fatal"), "payload.severity"),
    ("pagerduty", "pagerduty_trigger.json", _set(["payload", "summary"], _DROP), "payload.summary"),
    ("pagerduty", "pagerduty_trigger.json", _set(["routing_key"], _DROP), "routing_key"),
    ("pagerduty", "pagerduty_trigger.json", _set(["payload"], []), "payload"),
    ("pagerduty", "pagerduty_trigger.json", _set(["payload", "timestamp"], "noon"), "payload.timestamp"),
    ("pagerduty", "pagerduty_resolve.json", _set(["dedup_key"], _DROP), "dedup_key"),
    ("opsgenie", "opsgenie_create.json", _set(["priority"], "P9"), "priority"),
    ("opsgenie", "opsgenie_create.json", _set(["message"], ""), "message"),
    ("opsgenie", "opsgenie_create.json", _set(["details", "cluster"], ["nested"]), "details.cluster"),
    ("opsgenie", "opsgenie_close.json", _set(["alias"], _DROP), "alias"),
    ("opsgenie", "opsgenie_close.json", _set(["action"], "reopen"), "action"),
    ("datadog", "datadog_triggered.json", _set(["alert_id"], "$ALERT_ID"), "alert_id"),
    ("datadog", "datadog_triggered.json", _set(["alert_id"], _DROP), "alert_id"),
    ("datadog", "datadog_triggered.json", _set(["alert_transition"], "Exploded"), "alert_transition"),
    ("datadog", "datadog_triggered.json", _set(["date"], "yesterday"), "date"),
    ("datadog", "datadog_triggered.json", _set(["tags"], 7), "tags"),
]


@pytest.mark.parametrize("source, fixture, change, field", BAD, ids=[f"{b[0]}:{b[3]}" for b in BAD])
def test_bad_input_is_refused_naming_the_field(source, fixture, change, field):
    body = load_event(fixture)
    change(body)
    with pytest.raises(PayloadError) as err:
        parse(source, body, NOW)
    assert err.value.field == field and field in str(err.value)


def test_unknown_source():
    with pytest.raises(UnknownSourceError):
        parse("nagios", {}, NOW)


def test_every_contract_source_has_a_parser():
    from incident_commander import names

    assert set(PARSERS) == set(names.SOURCES)


def test_a_delivery_over_the_alert_limit_is_refused_naming_the_field():
    from incident_commander.ingest import MAX_ALERTS_PER_DELIVERY

    body = load_event("alertmanager_firing.json")
    body["alerts"] = body["alerts"][:1] * (MAX_ALERTS_PER_DELIVERY + 1)
    with pytest.raises(PayloadError) as err:
        parse("alertmanager", body, NOW)
    assert err.value.field == "alerts"
