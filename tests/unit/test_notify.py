"""Notifications go through breakers and rate limits; failures are reported, never raised."""

from __future__ import annotations

from incident_commander.config import BreakerSettings, ResilienceConfig
from incident_commander.notify.notifier import DeliveryError, Notifier, parse_contact
from incident_commander.resilience import InMemoryStateStore
from incident_commander.resilience.runtime import Resilience

MSG = {"incident_id": "inc-1", "title": "Orders DB", "severity": "critical", "summary": "connections exhausted"}
CREDS = {"slack": {"oncall": "https://hooks.example/slack"}, "pagerduty": {"primary": "routing-key"}}


class FakeSender:
    def __init__(self, failures=()):
        self.sent, self.failures = [], list(failures)

    def send(self, target, credential, message):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((target, credential, message["incident_id"]))


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def notifier(slack, pd, clock=None, threshold=2):
    cfg = ResilienceConfig(breaker=BreakerSettings(failure_threshold=threshold, open_seconds=30))
    res = Resilience(InMemoryStateStore(), cfg, clock=clock or Clock(), metric=lambda *a: None)
    return Notifier({"slack": slack, "pagerduty": pd}, lambda: CREDS, res, wait_budget_seconds=0)


def test_contacts_are_parsed():
    assert parse_contact("slack:oncall").kind == "slack" and parse_contact("alice").kind == "person"


def test_delivers_to_each_channel_and_reports_people_and_missing_credentials():
    slack, pd = FakeSender(), FakeSender()
    out = notifier(slack, pd).notify(["slack:oncall", "pagerduty:primary", "alice", "slack:unknown"], MSG)
    assert [d.delivered for d in out] == [True, True, False, False]
    assert slack.sent == [("oncall", "https://hooks.example/slack", "inc-1")] and pd.sent[0][1] == "routing-key"
    assert "no slack credential" in out[3].detail


def test_5xx_and_429_open_the_circuit_and_later_calls_are_not_made():
    clock = Clock()
    slack = FakeSender([DeliveryError(503, "unavailable", True), DeliveryError(429, "slow down", True)])
    n = notifier(slack, FakeSender(), clock=clock)
    for _ in range(2):
        clock.t += 2  # outside Slack's 1/s bucket
        assert not n.notify(["slack:oncall"], MSG)[0].delivered
    clock.t += 2
    third = n.notify(["slack:oncall"], MSG)[0]
    assert "circuit open" in third.detail and slack.sent == []
    clock.t += 31  # half-open: one probe goes through and succeeds
    assert n.notify(["slack:oncall"], MSG)[0].delivered


def test_slack_rate_limit_is_respected():
    clock = Clock()
    slack = FakeSender()
    n = notifier(slack, FakeSender(), clock=clock)
    results = [n.notify(["slack:oncall"], MSG)[0] for _ in range(3)]  # same instant: 1 per second
    assert [r.delivered for r in results] == [True, False, False] and "rate limited" in results[1].detail
    assert len(slack.sent) == 1


def test_a_4xx_is_reported_but_does_not_trip_the_breaker():
    clock = Clock()
    slack = FakeSender([DeliveryError(400, "invalid_payload", False)] * 3)
    n = notifier(slack, FakeSender(), clock=clock, threshold=1)
    for _ in range(3):
        clock.t += 2
        assert "invalid_payload" in n.notify(["slack:oncall"], MSG)[0].detail
