"""Alert accounting: every accepted alert ends in exactly one of an incident, a recorded noise
decision, or the dead-letter destination (whose depth is alarmed and which `redrive` empties).

The detection table's alert index is the record of what happened to each alert (its incident, or
why it is noise); the event store says which incidents opened; the dead-letter destination's
ranges, read back from the stream, say which alerts are waiting there. An alert held by a candidate
that never opened (below the severity floor, or the open threshold) is a noise decision too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ..detection.state import AlertRecord

Key = tuple[str, str]  # (source, alert key)


class Outcome(StrEnum):
    INCIDENT = "incident"
    NOISE = "noise"
    DEAD_LETTER = "dead_letter"
    UNACCOUNTED = "unaccounted"


def outcome(record: AlertRecord | None, opened: set[str], dead: bool) -> Outcome:
    if record is not None:
        if record.noise_reason:
            return Outcome.NOISE
        if record.incident_id in opened:
            return Outcome.INCIDENT
        if record.incident_id:
            return Outcome.NOISE  # held by a candidate that never opened (below the floor or threshold)
    return Outcome.DEAD_LETTER if dead else Outcome.UNACCOUNTED


@dataclass
class Accounting:
    accepted: int = 0
    counts: Counter = field(default_factory=Counter)
    unaccounted: list[Key] = field(default_factory=list)
    placed_and_dead_lettered: int = 0  # applied before their batch was given up on: redrive counts them as repeats

    @property
    def accounted(self) -> int:
        return self.accepted - len(self.unaccounted)

    def summary(self) -> dict[str, int]:
        return {"accepted": self.accepted, "accounted": self.accounted,
                **{o.value: self.counts.get(o, 0) for o in Outcome}}


def account(accepted: Iterable[Key], records: dict[Key, AlertRecord], opened: set[str], dead: set[Key]) -> Accounting:
    acc = Accounting()
    for key in dict.fromkeys(accepted):  # each distinct alert once
        acc.accepted += 1
        o = outcome(records.get(key), opened, key in dead)
        acc.counts[o] += 1
        if o == Outcome.UNACCOUNTED:
            acc.unaccounted.append(key)
        elif o != Outcome.DEAD_LETTER and key in dead:
            acc.placed_and_dead_lettered += 1
    return acc
