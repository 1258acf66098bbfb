"""The demo storms: every payload is accepted by its source's real parser, timestamps agree with the
delivery time at any start and speed, and each storm mixes formats, noise and flapping."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.ingest import parse
from incident_commander.scenarios import SCENARIOS
from incident_commander.timeutil import parse_iso
from incident_commander.topology import Topology

START = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_delivery_parses_and_the_storm_is_realistic(name):
    s = SCENARIOS[name]
    topo = Topology.parse_yaml(s.topology_yaml)
    assert s.expected_service in topo.services
    alerts = [a for d in s.render(START) for a in parse(d.source, d.body, d.at)]
    assert len({d.source for d in s.render(START)}) >= 4, "several real source formats, mixed"
    services = {topo.resolve_hints(a.service_hints)[0] for a in alerts}
    assert s.expected_service in services
    component = topo.component(s.expected_service)
    unrelated = [a for a in alerts if topo.component(topo.resolve_hints(a.service_hints)[0] or "") != component]
    assert unrelated, "noise: alerts that one failure cannot explain"
    states = Counter((a.key, a.status.value) for a in alerts)
    assert any(k for (k, st) in states if st == "resolved" and (k, "firing") in states), "an alert that flaps"


@pytest.mark.parametrize("speed", [1, 10])
def test_timestamps_follow_the_delivery_at_any_start_and_speed(speed):
    s = SCENARIOS["database-cascade"]
    deliveries = s.render(START, speed)
    assert deliveries[0].at == START
    assert deliveries[-1].at == START + timedelta(seconds=s.duration_s / speed)
    for d in deliveries:
        for a in parse(d.source, d.body, d.at):
            assert a.starts_at is None or a.starts_at <= d.at + timedelta(milliseconds=1)
        if d.source == "cloudwatch":
            assert parse_iso(d.body["time"]) == d.at
        if d.source == "alertmanager":
            assert all(parse_iso(x["startsAt"]) >= START - timedelta(seconds=600 / speed) for x in d.body["alerts"])
