"""Detection working state: what must survive between batches, bounded per incident (not per alert).

ScopeState holds the open incidents of one correlation scope (a cluster, an account+region).
AlertRecord is the per-alert index (alert key -> incident, status history) kept in DynamoDB, never
all in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, Field


class ServiceMark(BaseModel):
    labels: list[str] = Field(default_factory=list)  # raw label spellings seen for this service
    first_at: datetime
    last_at: datetime
    alerts: int = 0
    names: list[str] = Field(default_factory=list)  # alert names seen on it (bounded)
    kinds: list[str] = Field(default_factory=list)  # how its alerts point at causes (correlate.CLOSURE...)


class OpenIncident(BaseModel):
    id: str
    opened: bool = False  # False while below the open threshold (a candidate)
    first_at: datetime  # event time of its first alert
    last_at: datetime  # event time of its latest alert
    last_received_at: datetime
    services: dict[str, ServiceMark] = Field(default_factory=dict)
    unresolved: dict[str, datetime] = Field(default_factory=dict)  # hints naming no topology service
    namespaces: list[str] = Field(default_factory=list)
    earliest: datetime | None = None  # event time of its earliest alert
    roots: list[str] | None = None  # services that could explain every resolved alert so far
    anchors: list[str] = Field(default_factory=list)  # services with self-caused symptoms (crash, OOM...)
    specific: bool = False  # some alert pins the failure down (an anchor, a named dependency)
    distinct: int = 0
    firing: int = 0  # member alerts currently firing (or acknowledged)
    qualifying: int = 0  # member alerts at or above the severity floor (only these open an incident)
    deliveries: int = 0  # alert messages, repeats included (exact)
    unflushed: int = 0  # ...of which not yet written to the incident's timeline
    flushed_at: datetime | None = None  # when counts were last written
    # latest delivery of any of its alerts, repeats included: while they repeat the incident stays in
    # the scope state, so their counts are written once per count_flush_seconds rather than per batch
    last_counted_at: datetime | None = None
    recorded: int = 0  # alerts listed in the timeline (the rest are counted, see max_alerts_recorded)
    dispatched: int = 0  # workflow executions started
    pending_due: datetime | None = None  # when a tick must look at it again, as written to the pending list
    held: list[dict] = Field(default_factory=list)  # alert refs of a candidate, until it opens
    held_omitted: int = 0  # candidate alerts past the recording cap
    # [source, key] of alerts that joined the open incident and are not listed yet: listed with its next
    # append (every list_seconds before diagnosis and all at diagnosis, every count_flush_seconds after;
    # a status change, regrouping, forgetting it); their refs wait in their own index entries
    # (AlertRecord.ref), which are written anyway
    deferred: list[list[str]] = Field(default_factory=list)


class ScopeState(BaseModel):
    scope: str
    version: int = 0
    clock: datetime | None = None  # latest event time seen in this scope
    # "<shard>|<partition key>" -> last stream sequence number applied (redeliveries are skipped)
    applied: dict[str, int] = Field(default_factory=dict)
    incidents: list[OpenIncident] = Field(default_factory=list)


@dataclass(slots=True)
class AlertRecord:
    """One alert's index entry. A plain slotted class, not a pydantic model: the storm path touches one
    per alert, and its JSON is read and written with orjson (`from_json` / `to_json`). Repeats alone
    rewrite it at most hourly (`engine.INDEX_REFRESH`, which keeps its TTL fresh), so its
    `deliveries` and `last_received_at` are approximate; the incident's counts are the exact ones."""

    source: str
    key: str
    status: str
    last_received_at: datetime
    incident_id: str | None = None  # None: judged noise
    changes: list[datetime] = field(default_factory=list)  # recent state changes (flapping window)
    flapping: bool = False
    deliveries: int = 0
    starts_at: datetime | None = None  # when this occurrence began, as its source says (tells a repeat from a new one)
    noise_reason: str | None = None
    # ("<shard>|<partition key>", sequence) of the batch that wrote it: an entry whose origin is past its
    # scope's watermark was written by a batch that never saved the scope, and is not trusted
    origin: tuple[str, int] | None = None
    ref: dict | None = None  # its AlertRef (JSON) while its incident lists it later (OpenIncident.deferred)

    def to_json(self) -> str:
        return orjson.dumps({"source": self.source, "key": self.key, "status": self.status,
                             "last_received_at": self.last_received_at, "incident_id": self.incident_id,
                             "changes": self.changes, "flapping": self.flapping, "deliveries": self.deliveries,
                             "starts_at": self.starts_at, "noise_reason": self.noise_reason,
                             # a Kinesis sequence number (~56 digits) is past JSON's 64-bit integers: a string
                             "origin": [self.origin[0], str(self.origin[1])] if self.origin else None,
                             **({"ref": self.ref} if self.ref else {})}).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> AlertRecord:
        d = orjson.loads(text)
        starts, changes = d.get("starts_at"), d.get("changes")
        return cls(source=d["source"], key=d["key"], status=d["status"],
                   last_received_at=_dt(d["last_received_at"]), incident_id=d.get("incident_id"),
                   changes=[_dt(c) for c in changes] if changes else [], flapping=bool(d.get("flapping")),
                   deliveries=int(d.get("deliveries") or 0), starts_at=_dt(starts) if starts else None,
                   noise_reason=d.get("noise_reason"), origin=(d["origin"][0], int(d["origin"][1])) if d.get("origin") else None,
                   ref=d.get("ref"))


def _dt(value: str) -> datetime:
    dt = datetime.fromisoformat(value)  # written aware (orjson: +00:00; pydantic: Z): tzinfo is set
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
