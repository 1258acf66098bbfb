"""Model routing: a primary and fallback models per task, each behind its own circuit breaker.

A model is skipped while its circuit is open (throttling, errors, malformed replies, or calls
slower than the latency budget all count as failures); it comes back through half-open probes once
it recovers. A model whose rate limit (requests and tokens per minute, shared across containers)
has no room within the wait budget is skipped too, without counting against it. Each model's
health (success rate, latency percentiles) is kept for /health. When no model is available the
caller gets `None` and continues without the LLM, saying so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .breaker import BreakerConfig, CircuitBreaker
from .ratelimit import RateLimited
from .store import StateStore, update

T = TypeVar("T")
KIND = "model"
RECENT = 50


@dataclass
class RouteResult:
    value: Any
    model: str | None
    notes: list[str] = field(default_factory=list)
    # what happened to each model tried before (or instead of) the answer: {model, state, detail}
    setbacks: list[dict[str, str]] = field(default_factory=list)


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
    # (model, tokens) -> None, or RateLimited when the model's requests/tokens per minute have no room
    limiter: Callable[[str, int], None] | None = None
    breakers: Callable[[str], CircuitBreaker] | None = None  # circuit name -> breaker (metrics hooked in)

    def breaker(self, model: str) -> CircuitBreaker:
        name = f"bedrock:{model}"
        if self.breakers is not None:
            return self.breakers(name)
        return CircuitBreaker(name, self.store, self.breaker_config, self.clock)

    def _record(self, model: str, ok: bool, latency_ms: float, kind: str) -> None:
        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            recent = (doc or {}).get("recent", [])
            return {"recent": (recent + [[ok, round(latency_ms, 1), kind, self.clock()]])[-RECENT:]}

        update(self.store, KIND, model, change)

    def health(self) -> dict[str, Any]:
        """ok while the primary's circuit is closed; degraded while routing to a fallback or to no model."""
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
        usable = [m["model"] for m in out["models"] if m["circuit"] != "open"]
        out["routing_to"] = usable[0] if usable else None
        primary_ok = bool(usable) and usable[0] == self.models[0]
        return {"status": "ok" if primary_ok else "degraded", "detail": out}

    def call(self, invoke: Callable[[str], T], is_throttle: Callable[[Exception], bool] = lambda e: False,
             tokens: int = 0, classify: Callable[[Exception], str] | None = None) -> RouteResult:
        """Try the models in order; `invoke(model)` raises on any failure (including a malformed reply).
        `classify` names a failure's kind (throttled, timeout, malformed...) for the notes and health."""
        notes: list[str] = []
        setbacks: list[dict[str, str]] = []

        def setback(model: str, state: str, detail: str) -> None:
            notes.append(f"{model}: {detail}")
            setbacks.append({"model": model, "state": state, "detail": detail})

        for model in self.models:
            br = self.breaker(model)
            if not br.allow():
                setback(model, "open", "circuit open, skipped")
                continue
            if self.limiter is not None:
                try:
                    self.limiter(model, tokens)
                except RateLimited as exc:
                    setback(model, "rate_limited", f"rate limited ({exc.wait:.1f}s to room for {tokens} tokens), skipped")
                    br.release()
                    continue
            t0 = time.perf_counter()
            try:
                value = invoke(model)
            except Exception as exc:  # noqa: BLE001 - any model failure routes to the next model
                ms = (time.perf_counter() - t0) * 1000
                kind = "throttled" if is_throttle(exc) else classify(exc) if classify else type(exc).__name__
                br.record_failure(kind)
                self._record(model, False, ms, kind)
                text = str(exc)[:200] if classify else ""
                setback(model, "failed", text if text.startswith(kind) else f"{kind}: {text}" if text else kind)
                continue
            ms = (time.perf_counter() - t0) * 1000
            if ms > self.latency_budget_ms:
                br.record_failure(f"slow: {ms:.0f} ms")
                self._record(model, False, ms, "slow")
                setback(model, "slow", f"answered in {ms:.0f} ms, over the {self.latency_budget_ms:.0f} ms budget")
                return RouteResult(value, model, notes, setbacks)  # a slow answer is still an answer
            br.record_success()
            self._record(model, True, ms, "ok")
            return RouteResult(value, model, notes, setbacks)
        notes.append("no model available: continuing without the LLM")
        return RouteResult(None, None, notes, setbacks)
