"""The packaged knowledge base of failure modes and runbooks (knowledge/*.yaml), as memory patterns."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import yaml
from pydantic import ValidationError

from .model import Pattern

SEEDED_AT = datetime(2025, 1, 1, tzinfo=UTC)


class KnowledgeError(ValueError):
    pass


def load_knowledge() -> list[Pattern]:
    out: list[Pattern] = []
    for f in sorted(resources.files("incident_commander.knowledge").iterdir(), key=lambda p: p.name):
        if not f.name.endswith(".yaml"):
            continue
        for i, entry in enumerate(yaml.safe_load(f.read_text()) or []):
            try:
                out.append(Pattern(id=entry["id"], kind="knowledge", title=entry["title"],
                                   category=entry["category"], symptoms=entry.get("symptoms", []),
                                   alert_names=entry.get("alert_names", []), fix=entry.get("fix", ""),
                                   runbook=" ".join(str(entry.get("description", "")).split()),
                                   outcome=f"root:{entry.get('root', 'self')}", created_at=SEEDED_AT))
            except (KeyError, ValidationError) as exc:
                raise KnowledgeError(f"{f.name} entry {i}: {exc}") from exc
    return out
