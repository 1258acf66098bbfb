"""One container's view of the shared resilience state: breakers, buckets and model routers built
from `ResilienceConfig`, transitions sent to CloudWatch as metrics, and the `/health` report.

Every function that calls a dependency builds one `Resilience` at cold start (`from_deps`); because
the state lives in the control table, the API function's `/health` shows circuits that other
functions' containers opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import names as n
from ..config import LlmConfig, ModelLimit, ResilienceConfig
from .breaker import KIND as BREAKER_KIND
from .breaker import BreakerConfig, BreakerState, CircuitBreaker, Transition
from .ratelimit import TokenBucket
from .routing import ModelRouter
from .store import StateStore

# gauge value of METRIC_CIRCUIT_OPEN per state: the CDK alarm fires on MAX >= 1 for 3 minutes
GAUGE = {BreakerState.CLOSED.value: 0.0, BreakerState.HALF_OPEN.value: 1.0, BreakerState.OPEN.value: 1.0}


def emf_metric(name: str, value: float, dimensions: dict[str, str]) -> None:
    """One CloudWatch metric in Embedded Metric Format (Powertools; off where POWERTOOLS_METRICS_DISABLED,
    which Powertools' `single_metric` itself does not check)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=n.METRICS_NAMESPACE) as m:
        for k, v in dimensions.items():
            m.add_dimension(name=k, value=v)


def circuit_dimensions(name: str) -> dict[str, str]:
    """`bedrock:<model>` -> dependency bedrock, circuit bedrock:<model> (the alarm filters on dependency)."""
    return {"dependency": name.split(":", 1)[0], "circuit": name[:250]}


@dataclass
class Resilience:
    store: StateStore
    config: ResilienceConfig = field(default_factory=ResilienceConfig)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    metric: Callable[[str, float, dict[str, str]], None] = emf_metric
    transitions: list[Transition] = field(default_factory=list)  # seen by this container (tests, events)

    @classmethod
    def from_deps(cls, deps: Any, table: str | None = None) -> Resilience:
        """The container's one `Resilience` (built on first use): shared state in the control table
        (`IC_CONTROL_TABLE`), configuration from `deps.settings`; also what `/health` reports."""
        import os

        from ..adapters.resilience_store import DynamoStateStore

        if "resilience" in deps.extras:
            return deps.extras["resilience"]
        res = cls(DynamoStateStore(table or os.environ[n.ENV_CONTROL_TABLE]), deps.settings.resilience)
        deps.extras.update(resilience=res, breakers=res, model_router=res.router("diagnose", deps.settings.llm))
        return res

    # --- building blocks ---------------------------------------------------------------------------
    def breaker(self, name: str) -> CircuitBreaker:
        s = self.config.breaker_for(name)
        cfg = BreakerConfig(s.failure_threshold, s.window_seconds, s.open_seconds, s.half_open_probes)
        return CircuitBreaker(name, self.store, cfg, self.clock, on_transition=self._transition)

    def refused(self, name: str) -> None:
        """A call not made because the circuit is open: keep the gauge up while callers keep trying."""
        self._metric(n.METRIC_CIRCUIT_OPEN, 1.0, circuit_dimensions(name))

    def bucket(self, name: str) -> TokenBucket:
        overrides = {k: (v.capacity, v.per_second) for k, v in self.config.rate_limits.items()}
        return TokenBucket.for_service(name, self.store, overrides, clock=self.clock, sleep=self.sleep)

    def model_limiter(self, model: str, tokens: int) -> None:
        """Take one request and `tokens` tokens of the model's per-minute quotas, waiting within the budget."""
        lim = self.config.model_limits.get(model) or ModelLimit()
        budget = self.config.wait_budget_seconds
        rpm = TokenBucket(f"bedrock-rpm:{model}", self.store, lim.requests_per_minute, lim.requests_per_minute / 60,
                          clock=self.clock, sleep=self.sleep)
        rpm.acquire(1, budget)
        if tokens:
            tpm = TokenBucket(f"bedrock-tpm:{model}", self.store, lim.tokens_per_minute, lim.tokens_per_minute / 60,
                              clock=self.clock, sleep=self.sleep)
            tpm.acquire(min(tokens, lim.tokens_per_minute), budget)

    def router(self, task: str, llm: LlmConfig) -> ModelRouter:
        models = list(dict.fromkeys([llm.model_id, *llm.fallback_models]))
        return ModelRouter(task, models, self.store, latency_budget_ms=llm.latency_budget_ms, clock=self.clock,
                           limiter=self.model_limiter, breakers=self.breaker)

    # --- reporting ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Every circuit any container has recorded: ok when all are closed, degraded otherwise."""
        circuits = {}
        for name in sorted(self.store.list(BREAKER_KIND)):
            snap = self.breaker(name).snapshot()
            circuits[name] = {"state": snap["state"], "recent_failures": len(snap.get("failures") or []),
                              "opened_at": snap.get("opened_at")}
        degraded = [k for k, v in circuits.items() if v["state"] != BreakerState.CLOSED.value]
        return {"status": "degraded" if degraded else "ok", "detail": {"circuits": circuits, "not_closed": degraded}}

    def _transition(self, t: Transition) -> None:
        self.transitions.append(t)
        self._metric(n.METRIC_CIRCUIT_OPEN, GAUGE.get(t.state, 0.0), circuit_dimensions(t.name))

    def _metric(self, name: str, value: float, dims: dict[str, str]) -> None:
        try:
            self.metric(name, value, dims)
        except Exception:  # noqa: BLE001, S110 - a metric that cannot be written must not fail the call it measures
            pass
