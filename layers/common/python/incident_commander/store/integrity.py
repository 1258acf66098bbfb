"""Verification of an incident's chain: recompute every hash and name the first event that breaks.

"Verified" means: events 1..N are all present, each one's stored attributes are exactly those its
hash was computed over when it was appended, each links to the one before (prev_hash), and the
last one is the one the incident's projection recorded (version N, head hash). It cannot tell an
honest append from a writer who rewrote every event after a point *and* the projection: that is
what the copies outside the table are for (replicas, the change stream, the S3 archive).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .. import names as n
from ..models.incident import FOLD_VERSION, IncidentState, fold
from .hashing import GENESIS, HASHED_FIELDS, event_hash

# every attribute an event item may carry: the hashed ones, its hash, and the TTL retention sets
STORED_ATTRIBUTES = frozenset((*HASHED_FIELDS, "hash", n.TTL_ATTRIBUTE))


class VerifyResult(BaseModel):
    incident_id: str
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None
    archived_events: int = 0  # how many of `events` were read from the S3 archive


def verify_chain(incident_id: str, items: Sequence[dict[str, Any]], expected_head: str | None = None,
                 expected_version: int | None = None) -> VerifyResult:
    """`items` are stored events in their stored form (data as the canonical JSON string), by seq.

    Detects: any stored attribute changed or added (hash mismatch, unknown attribute), an event
    deleted or reordered (sequence gap, or a prev_hash that does not match), a forged event (its
    own hash recomputes, but the next event's prev_hash, or the projection's head, no longer does).
    """
    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(incident_id=incident_id, ok=False, events=len(items), first_bad_seq=seq, problem=problem)

    prev = GENESIS
    for expected_seq, item in enumerate(items, start=1):
        seq = _int(item.get("seq"))
        if seq != expected_seq:
            return bad(expected_seq, f"event {expected_seq} is missing (found {item.get('seq')} in its place)")
        if item.get("incident_id") != incident_id:
            return bad(seq, f"event {seq} belongs to another incident ({item.get('incident_id')})")
        if item.get("prev_hash") != prev:
            return bad(seq, f"event {seq} does not link to event {seq - 1} (prev_hash differs)")
        unknown = sorted(set(item) - STORED_ATTRIBUTES)
        if unknown:
            return bad(seq, f"event {seq} carries attributes that are not part of an event: {', '.join(unknown)}")
        try:
            recomputed = event_hash(item)
        except (TypeError, ValueError) as exc:
            return bad(seq, f"event {seq} cannot be hashed ({exc})")
        if recomputed != item.get("hash"):
            return bad(seq, f"event {seq} ({item.get('type')}) was modified: its content does not match its hash")
        prev = recomputed
    if expected_version is not None and expected_version != len(items):
        first = min(expected_version, len(items)) + 1
        return bad(first, f"the incident records {expected_version} events but {len(items)} are stored"
                          + (f": event {first} onwards is missing" if expected_version > len(items)
                             else f": event {first} onwards was not appended through the store"))
    if expected_head is not None and items and expected_head != prev:
        return bad(len(items), f"event {len(items)} is not the last event the incident recorded (head hash differs)")
    return VerifyResult(incident_id=incident_id, ok=True, events=len(items), head_hash=prev if items else None)


def verify_incident_items(incident_id: str, items: Sequence[dict[str, Any]], state: IncidentState) -> VerifyResult:
    """The chain against the projection's version and head, then the projection itself: it must be
    the fold of the events (compared only when written by this FOLD_VERSION), or someone changed
    what the API shows without touching the events."""
    result = verify_chain(incident_id, items, state.last_hash, state.version)
    if result.ok and state.fold_version == FOLD_VERSION:
        from .port import from_item

        differ = projection_differences(state, fold(incident_id, [from_item(i) for i in items]))
        if differ:
            return result.model_copy(update={"ok": False, "first_bad_seq": None, "problem": (
                f"the incident's projection does not match its events ({', '.join(differ)} differ): "
                "it was changed outside the store")})
    return result


def projection_differences(stored: IncidentState, folded: IncidentState) -> list[str]:
    """The top-level fields where a stored projection differs from the fold of its events (the alert
    views only when they were stored: otherwise they are the fold's own; the diagnosis's outline
    when that is what was stored)."""
    exclude = None if stored.alerts_read else {"alerts"}
    folded = folded.outline() if stored.outlined else folded
    a, b = stored.model_dump(mode="json", exclude=exclude), folded.model_dump(mode="json", exclude=exclude)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
