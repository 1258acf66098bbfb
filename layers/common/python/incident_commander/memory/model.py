"""What memory holds (patterns: resolved incidents and knowledge-base entries) and how it is queried."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ..models import Category

PatternKind = Literal["incident", "knowledge"]


class Pattern(BaseModel):
    """One remembered failure: a resolved incident, or a failure mode from the knowledge base."""

    id: str = Field(min_length=1, max_length=200)
    kind: PatternKind = "incident"
    title: str = Field(min_length=1, max_length=500)
    category: Category
    service: str | None = None  # the confirmed root-cause service (None for generic knowledge)
    services: list[str] = Field(default_factory=list, max_length=200)  # services that alerted
    symptoms: list[str] = Field(default_factory=list, max_length=50)  # Symptom values seen
    alert_names: list[str] = Field(default_factory=list, max_length=200)
    topology_path: list[str] = Field(default_factory=list, max_length=20)
    fix: str = ""
    runbook: str = ""
    time_to_resolve_s: float | None = Field(None, ge=0)
    outcome: str = ""  # resolved | corrected | false_positive | ...
    created_at: datetime
    updated_at: datetime | None = None

    @field_validator("services", "symptoms", "alert_names", "topology_path")
    @classmethod
    def _strip(cls, v: list[str]) -> list[str]:
        return [s for s in (x.strip() for x in v) if s]

    def text(self) -> str:
        """The text that is embedded and keyword-indexed."""
        parts = [self.title, f"category {self.category.value.replace('_', ' ')}",
                 "symptoms " + " ".join(s.replace("_", " ") for s in self.symptoms) if self.symptoms else "",
                 "alerts " + " ".join(self.alert_names) if self.alert_names else "",
                 "services " + " ".join(self.services) if self.services else "", self.fix, self.runbook]
        return ". ".join(p for p in parts if p.strip())


class MemoryQuery(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    k: int = Field(5, ge=1, le=100)
    services: list[str] | None = None  # keep patterns whose root service or alerting services intersect
    categories: list[Category] | None = None
    kinds: list[PatternKind] | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None


class Hit(BaseModel):
    pattern: Pattern
    score: float  # fused, 0..1
    keyword: float = 0.0  # normalised keyword score
    vector: float = 0.0  # normalised vector score
    similarity: float = 0.0  # raw cosine between the query and the pattern


class BulkResult(BaseModel):
    written: int = 0
    errors: dict[str, str] = Field(default_factory=dict)  # pattern id -> reason

    @property
    def ok(self) -> bool:
        return not self.errors
