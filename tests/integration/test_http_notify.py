"""The HTTP senders against a loopback double speaking the same request/response shapes."""

from __future__ import annotations

import pytest
from incident_commander.adapters.http_notify import PagerDutyEventsSender, SlackWebhookSender
from incident_commander.notify.notifier import DeliveryError

from tests.doubles.http_sink import HttpSink

MSG = {"incident_id": "inc-9", "title": "Disk full", "severity": "high", "summary": "orders-db volume at 99%",
       "link": "https://ic.example/incidents/inc-9"}


@pytest.fixture()
def sink():
    s = HttpSink()
    yield s
    s.close()


def test_pagerduty_events_v2_body(sink):
    PagerDutyEventsSender(f"{sink.url}/v2/enqueue").send("primary", "R0UTINGKEY", MSG)
    body = sink.requests[0]["body"]
    assert sink.requests[0]["path"] == "/v2/enqueue"
    assert body["routing_key"] == "R0UTINGKEY" and body["event_action"] == "trigger" and body["dedup_key"] == "inc-9"
    assert body["payload"]["severity"] == "error" and body["payload"]["source"] == "incident-commander"


def test_slack_webhook_and_failures_classified(sink):
    SlackWebhookSender().send("oncall", f"{sink.url}/services/T/B/X", MSG)
    assert "Disk full" in sink.requests[0]["body"]["text"]
    sink.script = [429, 500, 404]
    for status, retryable in ((429, True), (500, True), (404, False)):
        with pytest.raises(DeliveryError) as err:
            SlackWebhookSender().send("oncall", f"{sink.url}/x", MSG)
        assert err.value.status == status and err.value.retryable is retryable


def test_visiting_an_sns_subscribe_url_and_its_failures(sink):
    from incident_commander.adapters.sns import ConfirmationFailed, visit_subscribe_url

    visit_subscribe_url(f"{sink.url}/?Action=ConfirmSubscription&Token=t1")
    assert sink.requests == [{"path": "/?Action=ConfirmSubscription&Token=t1", "method": "GET"}]
    sink.script = [403]
    with pytest.raises(ConfirmationFailed, match="403"):
        visit_subscribe_url(f"{sink.url}/?Action=ConfirmSubscription&Token=expired")
