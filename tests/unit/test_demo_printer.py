"""The demo's live timeline: every event printed exactly once, even when an event is appended between
the incident list and the timeline reads."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from incident_commander.local.demo import TimelinePrinter

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(seq: int) -> dict:
    return {"seq": seq, "at": f"2026-05-01T12:00:{seq:02d}+00:00", "type": "monitoring.started",
            "data": {"reason": f"step {seq}"}}


class RacingPlayer:
    """The list still says version 2 while the timeline already holds a third event."""

    def __init__(self) -> None:
        self.polls = [(2, 3), (3, 3), (4, 4)]  # (version in the list, events in the timeline)
        self.now = (0, 0)

    def api(self, method, path, query=None):
        if path == "/incidents":
            self.now = self.polls.pop(0)
            return 200, {"incidents": [{"id": "inc-1", "version": self.now[0], "opened_at": "2026-05-01T12:00:00Z",
                                        "status": "open", "stage": "detection", "mttr_seconds": 1.0,
                                        "cost_so_far": 0.0, "cost_per_minute": 0.0, "users_affected": 0}]}
        return 200, {"events": [event(i) for i in range(1, self.now[1] + 1)]}


def test_each_event_is_printed_once_when_the_timeline_is_ahead_of_the_list():
    out = io.StringIO()
    printer = TimelinePrinter(RacingPlayer(), START, out)
    for _ in range(3):
        printer.print_new()
    printed = [ln for ln in out.getvalue().splitlines() if "inc-1"[-8:] in ln and "status" not in ln]
    assert len(printed) == 4 and len(set(printed)) == 4, printed
