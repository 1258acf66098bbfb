"""Timeline entries for an incident whose handling a dependency changed: a fallback model answered,
the LLM or the memory could not vote, a notification channel was skipped. One event per step and
dependency (idempotency keys from the execution), so a retried task records nothing twice."""

from __future__ import annotations

from typing import Any

from ..memory.embedders import EmbedderError
from ..models.events import DependencyDegraded, EventType, NewEvent
from ..store.port import append_with_retry


def from_route(setbacks: list[dict[str, str]], answered_by: str | None) -> list[DependencyDegraded]:
    """One entry per model the router skipped or that failed, saying what the incident got instead."""
    effect = f"answered by {answered_by}" if answered_by else "no LLM vote: the other diagnosers decide"
    return [DependencyDegraded(dependency=f"bedrock:{s['model']}", state=s["state"], detail=s["detail"][:300],
                               effect=effect) for s in setbacks]


def from_memory_error(exc: Exception) -> list[DependencyDegraded]:
    """The memory could not vote: which dependency (the circuit the error came through, from
    `guards`), whether its circuit was open, and why."""
    circuit = getattr(exc, "circuit", None) or ("embedder" if isinstance(exc, EmbedderError) else "memory")
    return [DependencyDegraded(dependency=circuit, state="open" if getattr(exc, "circuit_open", False) else "failed",
                               detail=str(exc)[:300], effect="no memory vote: the other diagnosers decide")]


def record(deps: Any, incident_id: str, execution: str, step: str, entries: list[DependencyDegraded],
           actor: str) -> None:
    if not entries:
        return
    at = deps.clock()
    events = [NewEvent.of(EventType.DEPENDENCY_DEGRADED, e, at, actor, f"{execution}/degraded/{step}/{i}")
              for i, e in enumerate(entries)]
    append_with_retry(deps.events, incident_id, lambda _s: events)
