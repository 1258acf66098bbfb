"""Retention: archive the events of incidents closed longer than the retention age, then expire them.

For each resolved incident whose resolution is older than `older_than` (and which has events not
archived yet):
1. read its whole chain and verify it: a chain that does not verify is never archived or expired
   (the evidence stays in the table, and the outcome says why);
2. write the events to S3 (one canonical JSON object; S3 checks its SHA-256 on arrival);
3. append `incident.archived` (bucket, key, digest, count, TTL) at the version just verified: if
   anyone appended meanwhile the append fails and nothing is expired this round;
4. set the TTL attribute on the archived events and their idempotency markers. DynamoDB deletes
   them some time after that moment (typically within a few days). The `incident.archived` event
   and the projection stay, so the incident remains listed, measured and verifiable.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from ..models.events import Archived, EventType, NewEvent
from .archive import ArchiveError, ArchiveStore, archive_key, encode, full_items
from .integrity import verify_chain
from .port import ConcurrencyError, EventStore

ACTOR = "agent:archiver"


class ArchiveOutcome(BaseModel):
    incident_id: str
    result: Literal["archived", "skipped"]
    events: int = 0
    key: str | None = None
    expired: int = 0
    reason: str = ""


def archive_closed(store: EventStore, archive: ArchiveStore, now: datetime, older_than: timedelta,
                   ttl_delay: timedelta = timedelta(0), limit: int = 100) -> list[ArchiveOutcome]:
    out: list[ArchiveOutcome] = []
    for state in store.closed_before(now - older_than, limit):
        iid = state.incident_id
        fresh, live = store.snapshot(iid, state)
        if fresh is None or not fresh.awaits_archive:
            continue  # reopened since the index was read
        state = fresh
        try:
            items, _ = full_items(store, iid, state, archive, live)
        except ArchiveError as exc:
            out.append(ArchiveOutcome(incident_id=iid, result="skipped", reason=str(exc)))
            continue
        check = verify_chain(iid, items, state.last_hash, state.version)
        if not check.ok:
            out.append(ArchiveOutcome(incident_id=iid, result="skipped",
                                      reason=f"chain does not verify, kept as evidence: {check.problem}"))
            continue
        body = encode(iid, items)
        digest = hashlib.sha256(body).hexdigest()
        key = archive_key(iid, state.last_hash)
        archive.put(key, body, digest)
        expires_at = int((now + ttl_delay).timestamp())
        event = NewEvent.of(EventType.ARCHIVED, Archived(bucket=archive.bucket, key=key, events=len(items),
                                                         head_hash=state.last_hash, sha256=digest,
                                                         expires_at=expires_at),
                            now, ACTOR, f"archive/{state.last_hash}")
        try:
            store.append(iid, state.version, [event], now, state=state)
        except ConcurrencyError:
            out.append(ArchiveOutcome(incident_id=iid, result="skipped", key=key,
                                      reason="the incident changed while it was being archived; next round"))
            continue
        expired = store.expire(iid, items, expires_at)  # those already gone from the table are skipped
        out.append(ArchiveOutcome(incident_id=iid, result="archived", events=len(items), key=key, expired=expired))
    return out
