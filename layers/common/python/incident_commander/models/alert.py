"""The canonical alert every source is normalised into."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def normalise(cls, value: Any, default: Severity | None = None) -> Severity:
        """Map the many vendor spellings (P1, sev2, warning, error...) onto five levels."""
        text = str(value or "").strip().lower()
        return _ALIASES.get(text, default or cls.MEDIUM)


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}
_ALIASES = {
    "critical": Severity.CRITICAL, "crit": Severity.CRITICAL, "fatal": Severity.CRITICAL, "p1": Severity.CRITICAL,
    "sev1": Severity.CRITICAL, "disaster": Severity.CRITICAL, "emergency": Severity.CRITICAL, "page": Severity.CRITICAL,
    "high": Severity.HIGH, "error": Severity.HIGH, "major": Severity.HIGH, "p2": Severity.HIGH, "sev2": Severity.HIGH,
    "alarm": Severity.HIGH,
    "medium": Severity.MEDIUM, "warning": Severity.MEDIUM, "warn": Severity.MEDIUM, "p3": Severity.MEDIUM,
    "sev3": Severity.MEDIUM, "average": Severity.MEDIUM, "moderate": Severity.MEDIUM,
    "low": Severity.LOW, "minor": Severity.LOW, "p4": Severity.LOW, "sev4": Severity.LOW,
    "info": Severity.INFO, "informational": Severity.INFO, "information": Severity.INFO, "p5": Severity.INFO,
    "sev5": Severity.INFO, "none": Severity.INFO, "ok": Severity.INFO, "debug": Severity.INFO,
}


class Alert(BaseModel):
    """One alert of one source, keyed by the source's own identity (the replay contract's alert key)."""

    model_config = ConfigDict(frozen=True)

    source: str
    key: str = Field(min_length=1, max_length=2048)
    status: AlertStatus
    severity: Severity = Severity.MEDIUM
    name: str = Field(min_length=1, max_length=512)
    title: str = ""
    description: str = ""
    # label values that may name the service, best first (resolved against the topology later)
    service_hints: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    received_at: datetime
    group_key: str | None = None
    scope: str = "default"  # correlation scope: cluster / account+region
    is_change_event: bool = False  # a deployment/config notice rather than a symptom
    raw: dict[str, Any] | None = None

    @property
    def event_time(self) -> datetime:
        return self.starts_at or self.received_at
