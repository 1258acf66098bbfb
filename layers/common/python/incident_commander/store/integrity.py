"""Verification of an incident's chain: recompute every hash and name the first event that breaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .hashing import GENESIS, event_hash


class VerifyResult(BaseModel):
    incident_id: str
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None


def verify_chain(incident_id: str, items: Sequence[dict[str, Any]], expected_head: str | None = None,
                 expected_version: int | None = None) -> VerifyResult:
    """`items` are stored events in their stored form (data as the canonical JSON string), by seq.

    Detects: any hashed attribute changed (hash mismatch), an event deleted or reordered (sequence
    gap or a prev_hash that does not match), a forged event (its hash recomputes but the next
    event's prev_hash, or the projection's head hash, no longer matches).
    """
    prev = GENESIS
    for expected_seq, item in enumerate(items, start=1):
        seq = int(item.get("seq", -1))
        if seq != expected_seq:
            return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=expected_seq,
                                problem=f"event {expected_seq} is missing (found {seq} in its place)")
        if item.get("prev_hash") != prev:
            return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=seq,
                                problem=f"event {seq} does not link to event {seq - 1} (prev_hash differs)")
        if item.get("incident_id") != incident_id:
            return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=seq,
                                problem=f"event {seq} belongs to another incident")
        recomputed = event_hash(item)
        if recomputed != item.get("hash"):
            return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=seq,
                                problem=f"event {seq} was modified (its content does not match its hash)")
        prev = recomputed
    if expected_version is not None and expected_version != len(items):
        return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=len(items) + 1,
                            problem=f"the incident records {expected_version} events but {len(items)} are stored")
    if expected_head is not None and items and expected_head != prev:
        return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=len(items),
                            problem="the last event is not the one the incident recorded (head hash differs)")
    return VerifyResult(incident_id=incident_id, ok=True, events=len(items), head_hash=prev if items else None)
