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


class OpenIncident(BaseModel):
    id: str
    opened: bool = False  # False while below the open threshold (a candidate)
    first_at: datetime  # event time of its first alert
    last_at: datetime  # event time of its latest alert
    last_received_at: datetime
    services: dict[str, ServiceMark] = Field(default_factory=dict)
    unresolved: dict[str, datetime] = Field(default_factory=dict)  # hints naming no topology service
    namespaces: list[str] = Field(default_factory=list)
    roots: list[str] | None = None  # services that could explain every resolved alert so far
    distinct: int = 0
    deliveries: int = 0
    recorded: int = 0  # alerts listed in the timeline (the rest are counted, see max_alerts_recorded)
    dispatched: int = 0  # workflow executions started
    dispatch_due: datetime | None = None
    held: list[dict] = Field(default_factory=list)  # alert refs of a candidate, until it opens


class ScopeState(BaseModel):
    scope: str
    version: int = 0
    clock: datetime | None = None  # latest event time seen in this scope
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
    noise_reason: str | None = None
