"""Memory pressure: a function watches its own resident memory against its configured limit and
degrades before the Lambda runtime would kill it (an out-of-memory kill loses the whole batch's
work and retries it as it was, so it would be killed again).

Thresholds (`IC_RESILIENCE_MEMORY_SOFT_RATIO` / `_HARD_RATIO`, of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`):

- below soft (70%): normal;
- soft: collect garbage, then, if still above, the detection batch runs degraded: harder sampling
  (no extra sampled alerts, half as many listed per incident; counts stay exact) and optional work
  deferred (count-only timeline writes at most every 5 x `count_flush_seconds`);
- hard (85%): as soft, and only the first quarter of the batch's records is processed now; the rest
  are reported as batch-item failures, so Lambda delivers them again (to this container once it has
  recovered, or another). If the pressure lasts past the retry cap they reach the on-failure queue,
  from which `incident-commander redrive` puts them back through: never dropped.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..config import DetectionConfig, ResilienceConfig


class Pressure(StrEnum):
    OK = "ok"
    SOFT = "soft"
    HARD = "hard"


def rss_mb() -> float:
    """This process's resident set size now (Linux /proc; else the peak, which only overstates)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class MemoryGuard:
    limit_mb: float
    soft_ratio: float = 0.70
    hard_ratio: float = 0.85
    rss: Callable[[], float] = rss_mb
    collect: Callable[[], object] = gc.collect

    @classmethod
    def from_config(cls, cfg: ResilienceConfig, limit_mb: float | None = None) -> MemoryGuard | None:
        """None when switched off or the limit is unknown (not in Lambda)."""
        limit = limit_mb or float(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
        if not cfg.memory_guard or limit <= 0:
            return None
        return cls(limit, cfg.memory_soft_ratio, cfg.memory_hard_ratio)

    def _level(self) -> Pressure:
        used = self.rss() / self.limit_mb
        return Pressure.HARD if used >= self.hard_ratio else Pressure.SOFT if used >= self.soft_ratio else Pressure.OK

    def level(self) -> Pressure:
        """The pressure now, after a garbage collection when the first reading is high."""
        if self._level() == Pressure.OK:
            return Pressure.OK
        self.collect()
        return self._level()

    def report(self) -> dict[str, float | str]:
        used = self.rss()
        return {"rss_mb": round(used, 1), "limit_mb": self.limit_mb, "used": round(used / self.limit_mb, 3)}


def degraded(cfg: DetectionConfig) -> DetectionConfig:
    """Detection settings under pressure: harder sampling, count-only writes deferred."""
    return cfg.model_copy(update={
        "max_alerts_sampled": 0,
        "max_alerts_recorded": max(10, cfg.max_alerts_recorded // 2),
        "count_flush_seconds": cfg.count_flush_seconds * 5 if cfg.count_flush_seconds else 300,
    })


def admitted(records: int, level: Pressure) -> int:
    """How many of a batch's records to process now (the rest are handed back to Lambda)."""
    return max(1, records // 4) if level == Pressure.HARD else records
