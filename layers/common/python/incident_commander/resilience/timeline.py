"""Timeline entries for an incident whose handling a dependency changed: a fallback model answered,
the LLM or the memory could not vote, a notification channel was skipped. One event per step and
dependency (idempotency keys from the execution), so a retried task records nothing twice."""

from __future__ import annotations

from typing import Any

from ..models.events import DependencyDegraded, EventType, NewEvent
from ..store.port import append_with_retry


def from_route(setbacks: list[dict[str, str]], answered_by: str | None) -> list[DependencyDegraded]:
    """One entry per model the router skipped or that failed, saying what the incident got instead."""
    effect = f"answered by {answered_by}" if answered_by else "no LLM vote: the other diagnosers decide"
    return [DependencyDegraded(dependency=f"bedrock:{s['model']}", state=s["state"], detail=s["detail"][:300],
                               effect=effect) for s in setbacks]


def record(deps: Any, incident_id: str, execution: str, step: str, entries: list[DependencyDegraded],
           actor: str) -> None:
    if not entries:
        return
    at = deps.clock()
    events = [NewEvent.of(EventType.DEPENDENCY_DEGRADED, e, at, actor, f"{execution}/degraded/{step}/{i}")
              for i, e in enumerate(entries)]
    append_with_retry(deps.events, incident_id, lambda _s: events)
