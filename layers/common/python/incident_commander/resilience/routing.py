"""Model routing: a primary and fallback models per task, each behind its own circuit breaker.

A model is skipped while its circuit is open (throttling, errors, or calls slower than the latency
budget all count as failures); it comes back through half-open probes once it recovers. Each
model's health (success rate, latency percentiles) is kept for /health. When no model is available
the caller gets `None` and continues without the LLM, saying so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .breaker import BreakerConfig, CircuitBreaker
from .store import StateStore, update

T = TypeVar("T")
KIND = "model"
RECENT = 50


@dataclass
class RouteResult:
    value: Any
    model: str | None
    notes: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


@dataclass
class ModelRouter:
    task: str
    models: list[str]
    store: StateStore
    latency_budget_ms: float = 8000.0
    breaker_config: BreakerConfig = field(default_factory=lambda: BreakerConfig(failure_threshold=3,
                                                                                window_seconds=60, open_seconds=60))
    clock: Callable[[], float] = time.time

    def breaker(self, model: str) -> CircuitBreaker:
        return CircuitBreaker(f"bedrock:{model}", self.store, self.breaker_config, self.clock)

    def _record(self, model: str, ok: bool, latency_ms: float, kind: str) -> None:
        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            recent = (doc or {}).get("recent", [])
            return {"recent": (recent + [[ok, round(latency_ms, 1), kind, self.clock()]])[-RECENT:]}

        update(self.store, KIND, model, change)

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "models": []}
        for m in self.models:
            doc, _ = self.store.get(KIND, m)
            recent = (doc or {}).get("recent", [])
            lat = [r[1] for r in recent if r[0]]
            out["models"].append({
                "model": m, "circuit": self.breaker(m).snapshot()["state"], "calls": len(recent),
                "success_rate": round(sum(1 for r in recent if r[0]) / len(recent), 3) if recent else None,
                "latency_ms_p50": percentile(lat, 0.5), "latency_ms_p95": percentile(lat, 0.95),
                "last_error": next((r[2] for r in reversed(recent) if not r[0]), None)})
        return out

    def call(self, invoke: Callable[[str], T], is_throttle: Callable[[Exception], bool] = lambda e: False) -> RouteResult:
        notes: list[str] = []
        for model in self.models:
            br = self.breaker(model)
            if not br.allow():
                notes.append(f"{model}: circuit open, skipped")
                continue
            t0 = time.perf_counter()
            try:
                value = invoke(model)
            except Exception as exc:  # noqa: BLE001 - any model failure routes to the next model
                ms = (time.perf_counter() - t0) * 1000
                kind = "throttled" if is_throttle(exc) else type(exc).__name__
                br.record_failure(kind)
                self._record(model, False, ms, kind)
                notes.append(f"{model}: {kind}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            if ms > self.latency_budget_ms:
                br.record_failure(f"slow: {ms:.0f} ms")
                self._record(model, False, ms, "slow")
                notes.append(f"{model}: answered in {ms:.0f} ms, over the {self.latency_budget_ms:.0f} ms budget")
                return RouteResult(value, model, notes)  # a slow answer is still an answer; the next call routes away
            br.record_success()
            self._record(model, True, ms, "ok")
            return RouteResult(value, model, notes)
        notes.append("no model available: continuing without the LLM")
        return RouteResult(None, None, notes)
