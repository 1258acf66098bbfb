"""Memory pressure in the detection function: degrade before the runtime kills it, never drop."""

from __future__ import annotations

from datetime import timedelta

from incident_commander.config import DetectionConfig, ResilienceConfig
from incident_commander.detection.service import on_kinesis
from incident_commander.ingest import parse
from incident_commander.resilience.memory import MemoryGuard, Pressure, degraded

from tests.helpers import am_alert, am_body

from .test_detection import T0, engine, kinesis_event


class Rss:
    def __init__(self, *readings: float):
        self.readings = list(readings)

    def __call__(self) -> float:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_levels_follow_the_documented_thresholds_after_a_collection():
    collected = []
    guard = MemoryGuard(1000, rss=Rss(800, 650), collect=lambda: collected.append(1))
    assert guard.level() == Pressure.OK and collected == [1]  # 80% read, a collection brought it to 65%
    assert MemoryGuard(1000, rss=Rss(900)).level() == Pressure.HARD
    assert MemoryGuard(1000, rss=Rss(720)).level() == Pressure.SOFT
    assert MemoryGuard.from_config(ResilienceConfig(memory_guard=False), 1024) is None
    assert MemoryGuard.from_config(ResilienceConfig(), 1024).hard_ratio == 0.85


def test_degraded_detection_samples_harder_and_defers_count_writes():
    cfg = degraded(DetectionConfig())
    assert (cfg.max_alerts_sampled, cfg.max_alerts_recorded, cfg.count_flush_seconds) == (0, 250, 1500)


def storm(n: int):
    """n webhook deliveries, each a record of 3 alerts on unrelated services (3 scopes per record)."""
    return [parse("alertmanager", am_body(*[am_alert(f"Errors{i}", svc, T0 + timedelta(seconds=i), cluster=f"c{i % 3}")
                                           for svc in ("api", "ledger", "billing")]), T0 + timedelta(seconds=i))
            for i in range(n)]


def test_hard_pressure_hands_the_tail_back_and_redelivery_loses_nothing():
    eng, events, _ = engine()
    event = kinesis_event(storm(4))
    records = event["Records"]
    guard = MemoryGuard(1000, rss=Rss(900))
    response = on_kinesis(event, eng, guard=guard)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    keep = len(records) // 4
    assert failed == [r["kinesis"]["sequenceNumber"] for r in records[keep:]]
    # Lambda retries from the lowest failed sequence number, once the pressure is gone
    tail = {"Records": [r for r in records if r["kinesis"]["sequenceNumber"] >= failed[0]]}
    assert on_kinesis(tail, eng, guard=MemoryGuard(1000, rss=Rss(100))) == {"batchItemFailures": []}
    eng.tick(T0 + timedelta(minutes=10))  # settled: every incident diagnosed, all it waited to list listed
    delivered = sum(len(s.alerts) for s in events.states.values())
    assert delivered == 12 and sum(s.alert_deliveries for s in events.states.values()) == 12
    # the same batch again (a duplicate delivery) changes nothing
    on_kinesis(event, eng, guard=MemoryGuard(1000, rss=Rss(100)))
    assert sum(s.alert_deliveries for s in events.states.values()) == 12


def test_soft_pressure_processes_the_whole_batch_degraded():
    eng, events, _ = engine()
    response = on_kinesis(kinesis_event(storm(4)), eng, guard=MemoryGuard(1000, rss=Rss(750)))
    assert response == {"batchItemFailures": []}
    assert sum(len(s.alerts) for s in events.states.values()) == 12
