"""Detection working state: what must survive between batches, bounded per incident (not per alert).

ScopeState holds the open incidents of one correlation scope (a cluster, an account+region).
AlertRecord is the per-alert index (alert key -> incident, status history) kept in DynamoDB, never
all in memory.
"""

from __future__ import annotations

from datetime import datetime

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
    deliveries: int = 0
    recorded: int = 0  # alerts listed in the timeline (the rest are counted, see max_alerts_recorded)
    dispatched: int = 0  # workflow executions started
    dispatch_due: datetime | None = None  # when tick should look at it again (open a candidate, or diagnose)
    pending_due: datetime | None = None  # the due time last written to the store's pending list
    held: list[dict] = Field(default_factory=list)  # alert refs of a candidate, until it opens
    held_omitted: int = 0  # candidate alerts past the recording cap


class ScopeState(BaseModel):
    scope: str
    version: int = 0
    clock: datetime | None = None  # latest event time seen in this scope
    # "<shard>|<partition key>" -> last stream sequence number applied (redeliveries are skipped)
    applied: dict[str, int] = Field(default_factory=dict)
    incidents: list[OpenIncident] = Field(default_factory=list)


class AlertRecord(BaseModel):
    source: str
    key: str
    incident_id: str | None = None  # None: judged noise
    status: str
    changes: list[datetime] = Field(default_factory=list)  # recent state changes (flapping window)
    flapping: bool = False
    deliveries: int = 0
    last_received_at: datetime
    starts_at: datetime | None = None  # when this occurrence began, as its source says (tells a repeat from a new one)
    noise_reason: str | None = None
