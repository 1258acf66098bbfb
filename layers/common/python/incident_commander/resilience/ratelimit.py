"""Token buckets shared across containers: callers wait within a budget or take their fallback,
and the documented limit of the other side is never exceeded.

Defaults follow the vendors' documentation: PagerDuty Events API v2 about 120 events per minute per
integration key; Slack incoming webhooks 1 message per second per channel; Bedrock models by their
account quotas (requests and tokens per minute, configured per model).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .store import StateStore, update

KIND = "bucket"

KNOWN_LIMITS: dict[str, tuple[float, float]] = {  # name prefix -> (capacity, refill per second)
    "pagerduty": (120.0, 2.0),
    "slack": (1.0, 1.0),
}


class RateLimited(RuntimeError):
    def __init__(self, name: str, wait: float):
        super().__init__(f"rate limit {name}: next token in {wait:.2f}s")
        self.name, self.wait = name, wait


@dataclass
class TokenBucket:
    name: str
    store: StateStore
    capacity: float
    refill_per_second: float
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    granted: list[float] = field(default_factory=list)  # when tokens were taken (for tests and metrics)

    @classmethod
    def for_service(cls, name: str, store: StateStore, overrides: dict[str, tuple[float, float]] | None = None,
                    **kw: Any) -> TokenBucket:
        """The bucket of `name` (e.g. `slack:#oncall`), limits by its service prefix: configured, else documented."""
        limits = {**KNOWN_LIMITS, **(overrides or {})}
        capacity, rate = next((v for k, v in limits.items() if name.split(":", 1)[0] == k), (10.0, 1.0))
        return cls(name, store, capacity, rate, **kw)

    def _try(self, cost: float) -> float:
        """Take `cost` tokens if available; return 0, or the seconds until they will be."""
        now = self.clock()
        wait = {"s": 0.0}

        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            d = doc or {"tokens": self.capacity, "at": now}
            tokens = min(self.capacity, d["tokens"] + (now - d["at"]) * self.refill_per_second)
            if tokens >= cost - 1e-9:  # float dust must not leave a caller waiting forever
                wait["s"] = 0.0
                return {"tokens": max(0.0, tokens - cost), "at": now}
            wait["s"] = (cost - tokens) / self.refill_per_second
            return {"tokens": tokens, "at": now}

        update(self.store, KIND, self.name, change)
        if wait["s"] == 0.0:
            self.granted.append(now)
        return wait["s"]

    def acquire(self, cost: float = 1.0, budget_seconds: float = 0.0) -> None:
        """Take tokens, waiting at most `budget_seconds`; raise RateLimited past the budget."""
        if cost > self.capacity:
            raise ValueError(f"{self.name}: a cost of {cost} exceeds the bucket capacity {self.capacity}")
        deadline = self.clock() + budget_seconds
        while True:
            wait = self._try(cost)
            if wait == 0.0:
                return
            if self.clock() + wait > deadline:
                raise RateLimited(self.name, wait)
            self.sleep(max(wait, 0.001))
