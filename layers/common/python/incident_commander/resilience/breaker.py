"""Circuit breaker: closed -> open after `failure_threshold` failures inside `window_seconds`;
open -> half-open after `open_seconds`; half-open lets `half_open_probes` calls through and closes
after that many successes, or opens again on any failure.

State lives in a shared StateStore, so every container sees the same circuit. Transitions are
listed by `transitions` and passed to `on_transition` (metrics) once the write that made them has
succeeded, so they can be recorded as events and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from .store import StateStore, update

T = TypeVar("T")
KIND = "breaker"


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(RuntimeError):
    def __init__(self, name: str, retry_in: float):
        super().__init__(f"circuit {name} is open; retry in {retry_in:.0f}s")
        self.name, self.retry_in = name, retry_in


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    window_seconds: float = 60.0
    open_seconds: float = 30.0
    half_open_probes: int = 2


@dataclass
class Transition:
    name: str
    previous: str
    state: str
    at: float
    reason: str


@dataclass
class CircuitBreaker:
    name: str
    store: StateStore
    config: BreakerConfig = field(default_factory=BreakerConfig)
    clock: Callable[[], float] = time.time
    transitions: list[Transition] = field(default_factory=list)
    on_transition: Callable[[Transition], None] | None = None
    _attempt: list[Transition] = field(default_factory=list, repr=False)

    def _update(self, change: Callable[[dict[str, Any] | None], dict[str, Any]]) -> None:
        """Write through the shared store; transitions count only from the attempt that was written."""
        def attempt(doc: dict[str, Any] | None) -> dict[str, Any]:
            self._attempt = []
            return change(doc)

        update(self.store, KIND, self.name, attempt)
        done, self._attempt = self._attempt, []
        self.transitions += done
        for t in done:
            if self.on_transition is not None:
                self.on_transition(t)

    def _fresh(self) -> dict[str, Any]:
        return {"state": BreakerState.CLOSED.value, "failures": [], "opened_at": None, "probes": 0, "successes": 0}

    def snapshot(self) -> dict[str, Any]:
        doc, _ = self.store.get(KIND, self.name)
        doc = doc or self._fresh()
        now = self.clock()
        if doc["state"] == BreakerState.OPEN and now - (doc["opened_at"] or now) >= self.config.open_seconds:
            doc = {**doc, "state": BreakerState.HALF_OPEN.value}
        return {"name": self.name, **doc}

    def allow(self) -> bool:
        """May a call go through now? (Reserves a probe slot when half-open.)"""
        now = self.clock()
        allowed = {"ok": False}

        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            d = dict(doc or self._fresh())
            if d["state"] == BreakerState.OPEN:
                if now - d["opened_at"] < self.config.open_seconds:
                    allowed["ok"] = False
                    return d
                self._note(d, BreakerState.HALF_OPEN, now, "cool-down elapsed")
                d.update(state=BreakerState.HALF_OPEN.value, probes=0, successes=0)
            if d["state"] == BreakerState.HALF_OPEN:
                allowed["ok"] = d["probes"] < self.config.half_open_probes
                if allowed["ok"]:
                    d["probes"] += 1
                return d
            allowed["ok"] = True
            return d

        doc, _ = self.store.get(KIND, self.name)
        if doc is None or doc["state"] == BreakerState.CLOSED:
            return True  # the common path: no write
        self._update(change)
        return allowed["ok"]

    def release(self) -> None:
        """Give back a half-open probe slot taken by `allow()` for a call that was not made."""
        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            d = dict(doc or self._fresh())
            if d["state"] == BreakerState.HALF_OPEN and d["probes"] > 0:
                d["probes"] -= 1
            return d

        doc, _ = self.store.get(KIND, self.name)
        if doc is not None and doc["state"] == BreakerState.HALF_OPEN:
            self._update(change)

    def record_success(self) -> None:
        now = self.clock()

        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            d = dict(doc or self._fresh())
            if d["state"] == BreakerState.HALF_OPEN:
                d["successes"] += 1
                if d["successes"] >= self.config.half_open_probes:
                    self._note(d, BreakerState.CLOSED, now, f"{d['successes']} probe(s) succeeded")
                    return self._fresh()
            return d

        doc, _ = self.store.get(KIND, self.name)
        if doc is not None and doc["state"] == BreakerState.HALF_OPEN:
            self._update(change)

    def record_failure(self, reason: str = "") -> None:
        now = self.clock()

        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            d = dict(doc or self._fresh())
            if d["state"] == BreakerState.HALF_OPEN:
                self._note(d, BreakerState.OPEN, now, f"probe failed: {reason}"[:200])
                return {**d, "state": BreakerState.OPEN.value, "opened_at": now, "failures": [], "probes": 0,
                        "successes": 0}
            if d["state"] == BreakerState.OPEN:
                return d
            failures = [t for t in d["failures"] if now - t < self.config.window_seconds] + [now]
            if len(failures) >= self.config.failure_threshold:
                self._note(d, BreakerState.OPEN, now,
                           f"{len(failures)} failures in {self.config.window_seconds:.0f}s: {reason}"[:200])
                return {**d, "state": BreakerState.OPEN.value, "opened_at": now, "failures": []}
            return {**d, "failures": failures[-self.config.failure_threshold:]}

        self._update(change)

    def call(self, fn: Callable[[], T], fallback: Callable[[Exception], T] | None = None,
             failure: Callable[[Exception], bool] = lambda e: True) -> T:
        """Run `fn` through the breaker; on an open circuit or a counted failure use `fallback`."""
        if not self.allow():
            err = BreakerOpen(self.name, self.config.open_seconds)
            if fallback is None:
                raise err
            return fallback(err)
        try:
            result = fn()
        except Exception as exc:
            if failure(exc):
                self.record_failure(f"{type(exc).__name__}: {exc}")
            if fallback is None:
                raise
            return fallback(exc)
        self.record_success()
        return result

    def _note(self, d: dict[str, Any], state: BreakerState, now: float, reason: str) -> None:
        if d["state"] != state.value:
            self._attempt.append(Transition(self.name, d["state"], state.value, now, reason))
