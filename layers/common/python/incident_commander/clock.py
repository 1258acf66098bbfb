"""Clocks. Agents read time through `Deps.clock`: the system clock in AWS; during a local replay or
demo, a shared virtual clock the player advances along the recording (the contract's time rule)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from .timeutil import utcnow


class VirtualClock:
    """Recording time that moves forward only; between deliveries it ticks with the wall clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base: datetime | None = None
        self._wall_at_base: datetime | None = None
        self.follow_wall = False

    def set(self, at: datetime) -> None:
        with self._lock:
            current = self._now_unlocked()
            if current is None or at > current:
                self._base, self._wall_at_base = at, utcnow()

    def _now_unlocked(self) -> datetime | None:
        if self._base is None:
            return None
        if self.follow_wall and self._wall_at_base is not None:
            return self._base + (utcnow() - self._wall_at_base)
        return self._base

    def __call__(self) -> datetime:
        with self._lock:
            return self._now_unlocked() or utcnow()

    def reset(self) -> None:
        """Forget the recording's time (a new replay in the same process starts its own)."""
        with self._lock:
            self._base = self._wall_at_base = None

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._base is not None:
                self._base += timedelta(seconds=seconds)


SHARED = VirtualClock()


def system_clock() -> datetime:
    return utcnow()
