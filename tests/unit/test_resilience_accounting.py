"""Alert accounting: exactly one outcome per accepted alert, and the ones with none are named."""

from __future__ import annotations

from datetime import UTC, datetime

from incident_commander.detection.state import AlertRecord
from incident_commander.resilience.accounting import Outcome, account

AT = datetime(2026, 1, 1, tzinfo=UTC)


def rec(key, incident=None, noise=None):
    return AlertRecord(source="am", key=key, incident_id=incident, status="firing", last_received_at=AT,
                       deliveries=1, noise_reason=noise)


def test_each_accepted_alert_has_one_outcome_and_the_missing_are_named():
    records = {("am", "a"): rec("a", "inc-1"), ("am", "b"): rec("b", noise="resolved before it was seen firing"),
               ("am", "c"): rec("c", "cand-never-opened"), ("am", "e"): rec("e", "inc-1")}
    acc = account([("am", k) for k in "abcdefa"], records, opened={"inc-1"}, dead={("am", "d"), ("am", "e")})
    assert acc.summary() == {"accepted": 6, "accounted": 5, Outcome.INCIDENT.value: 2, Outcome.NOISE.value: 2,
                             Outcome.DEAD_LETTER.value: 1, Outcome.UNACCOUNTED.value: 1}
    assert acc.unaccounted == [("am", "f")]
    assert acc.placed_and_dead_lettered == 1  # e: placed before its batch was given up on
