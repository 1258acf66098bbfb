"""Shared fixtures: the embedded local stack (one per test session), players, sample events."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"


def _shared() -> Path:
    """The read-only shared folder (eval sets, payloads): $IC_SHARED, else beside the repository."""
    candidates = [os.environ.get("IC_SHARED"), Path(__file__).resolve().parents[2] / "shared", "/work/shared"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return Path(__file__).resolve().parents[2] / "shared"


SHARED = _shared()


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def local_stack():
    from incident_commander.local.stack import LocalStack

    # short escalation timeouts so the timeout path runs in seconds
    env = {"IC_ESCALATION_LEVELS": json.dumps([
        {"name": "primary", "contacts": ["oncall-a"], "timeout_seconds": 2},
        {"name": "secondary", "contacts": ["oncall-b"], "timeout_seconds": 2}]),
        "IC_DETECTION_SETTLE_QUIET_SECONDS": "30", "IC_DETECTION_SETTLE_MAX_SECONDS": "120"}
    with LocalStack(extra_env=env) as stack:
        yield stack


@pytest.fixture()
def player(local_stack):
    from incident_commander.local.player import Player

    return Player(local_stack)


class Clock:
    """Monotonic recording time for a test: each test starts well after the previous one."""

    base = datetime(2030, 1, 1, tzinfo=UTC)

    @classmethod
    def fresh(cls) -> datetime:
        cls.base += timedelta(days=1)
        return cls.base


@pytest.fixture()
def t0() -> datetime:
    return Clock.fresh()
