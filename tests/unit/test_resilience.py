"""Circuit breakers, token buckets and model routing on a fake clock and the shared state store."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from incident_commander.resilience import (
    BreakerConfig,
    BreakerOpen,
    CircuitBreaker,
    InMemoryStateStore,
    RateLimited,
    TokenBucket,
)
from incident_commander.resilience.routing import ModelRouter


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_breaker_opens_after_threshold_inside_window_then_half_opens_and_closes():
    clock, store = FakeClock(), InMemoryStateStore()
    cfg = BreakerConfig(failure_threshold=3, window_seconds=10, open_seconds=30, half_open_probes=2)
    b = CircuitBreaker("slack", store, cfg, clock)
    for _ in range(2):
        b.record_failure("500")
        clock.t += 6  # failures spread beyond the window do not add up
    b.record_failure("500")
    assert b.snapshot()["state"] == "closed"
    b.record_failure("500")
    b.record_failure("500")
    assert b.snapshot()["state"] == "open" and not b.allow()
    clock.t += 31
    assert b.allow() and b.allow() and not b.allow()  # two probes, no more
    b.record_success()
    b.record_success()
    assert b.snapshot()["state"] == "closed"
    assert [(t.previous, t.state) for t in b.transitions] == [("closed", "open"), ("open", "half_open"),
                                                              ("half_open", "closed")]


def test_a_failed_probe_reopens():
    clock, store = FakeClock(), InMemoryStateStore()
    b = CircuitBreaker("bedrock", store, BreakerConfig(failure_threshold=1, open_seconds=5), clock)
    b.record_failure("throttled")
    clock.t += 6
    assert b.allow()
    b.record_failure("still throttled")
    assert b.snapshot()["state"] == "open" and not b.allow()


def test_state_is_shared_between_containers():
    clock, store = FakeClock(), InMemoryStateStore()
    cfg = BreakerConfig(failure_threshold=4)
    containers = [CircuitBreaker("pagerduty", store, cfg, clock) for _ in range(4)]
    for c in containers:
        c.record_failure("503")
    assert all(not c.allow() for c in containers)


def test_call_uses_the_fallback_when_open_or_failing():
    clock, store = FakeClock(), InMemoryStateStore()
    b = CircuitBreaker("os", store, BreakerConfig(failure_threshold=1), clock)

    def boom():
        raise ConnectionError("down")

    assert b.call(boom, fallback=lambda e: f"fallback after {type(e).__name__}") == "fallback after ConnectionError"
    assert b.call(lambda: "never", fallback=lambda e: type(e).__name__) == "BreakerOpen"
    with pytest.raises(BreakerOpen):
        b.call(lambda: "x")


def test_concurrent_failures_are_not_lost():
    store = InMemoryStateStore()
    cfg = BreakerConfig(failure_threshold=1000, window_seconds=3600)
    breakers = [CircuitBreaker("ddb", store, cfg) for _ in range(8)]
    threads = [threading.Thread(target=lambda b=b: [b.record_failure("x") for _ in range(50)]) for b in breakers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(breakers[0].snapshot()["failures"]) == 400


@settings(max_examples=60)
@given(st.lists(st.floats(0, 5), min_size=1, max_size=80), st.integers(1, 10), st.floats(0.2, 5))
def test_bucket_never_exceeds_its_limit(gaps, capacity, rate):
    """Whatever the arrival pattern, tokens granted in any interval <= capacity + rate x interval."""
    clock, store = FakeClock(), InMemoryStateStore()
    bucket = TokenBucket("x", store, capacity, rate, clock=clock, sleep=clock.sleep)
    for g in gaps:
        clock.t += g
        try:
            bucket.acquire(budget_seconds=0.5)
        except RateLimited:
            pass
    g = bucket.granted
    for i in range(len(g)):
        for j in range(i, len(g)):
            assert j - i + 1 <= capacity + rate * (g[j] - g[i]) + 1e-6


def test_bucket_waits_within_budget_or_raises():
    clock, store = FakeClock(), InMemoryStateStore()
    slack = TokenBucket.for_service("slack:#incidents", store, clock=clock, sleep=clock.sleep)
    slack.acquire()
    slack.acquire(budget_seconds=2)  # waited ~1 s for the next token
    assert clock.t == pytest.approx(1001.0)
    with pytest.raises(RateLimited):
        slack.acquire(budget_seconds=0.1)
    pd = TokenBucket.for_service("pagerduty:key1", store, clock=clock, sleep=clock.sleep)
    for _ in range(120):
        pd.acquire()
    with pytest.raises(RateLimited):
        pd.acquire()


def test_router_routes_away_from_a_throttled_primary_and_returns_when_it_recovers():
    clock, store = FakeClock(), InMemoryStateStore()
    r = ModelRouter("diagnose", ["primary", "fallback"], store, latency_budget_ms=10_000,
                    breaker_config=BreakerConfig(failure_threshold=2, open_seconds=60, half_open_probes=1),
                    clock=clock)
    throttled = {"primary": True}

    def invoke(model):
        if model == "primary" and throttled["primary"]:
            raise RuntimeError("ThrottlingException")
        return f"answer from {model}"

    results = [r.call(invoke, is_throttle=lambda e: "Throttling" in str(e)) for _ in range(4)]
    assert [x.model for x in results] == ["fallback"] * 4
    assert "circuit open" in results[-1].notes[0]
    throttled["primary"] = False
    clock.t += 61
    assert r.call(invoke).model == "primary"
    health = {m["model"]: m for m in r.health()["detail"]["models"]}
    assert health["primary"]["circuit"] == "closed" and health["primary"]["last_error"] == "throttled"


def test_router_reports_when_no_model_is_available():
    r = ModelRouter("diagnose", ["only"], InMemoryStateStore(), breaker_config=BreakerConfig(failure_threshold=1))

    def invoke(model):
        raise TimeoutError("read timeout")

    first, second = r.call(invoke), r.call(invoke)
    assert first.value is None and second.model is None
    assert second.notes[-1] == "no model available: continuing without the LLM"
