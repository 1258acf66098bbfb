"""What the detection engine needs from the outside world (adapters: DynamoDB, Step Functions)."""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Any

from .state import AlertRecord, ScopeState


class StaleScopeError(RuntimeError):
    """Another writer saved the scope first; the batch is retried (Kinesis redelivers it)."""


class DetectionStore(abc.ABC):
    @abc.abstractmethod
    def load_scope(self, scope: str) -> ScopeState: ...

    @abc.abstractmethod
    def save_scope(self, state: ScopeState, expected_version: int) -> None: ...

    @abc.abstractmethod
    def get_alerts(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], AlertRecord]: ...

    @abc.abstractmethod
    def put_alerts(self, records: list[AlertRecord]) -> None: ...

    @abc.abstractmethod
    def put_pending(self, incident_id: str, scope: str, due: datetime) -> None: ...

    @abc.abstractmethod
    def delete_pending(self, incident_id: str) -> None: ...

    @abc.abstractmethod
    def list_pending(self) -> list[tuple[str, str, datetime]]:
        """(incident id, scope, due) of every incident waiting to be diagnosed."""


class Workflow(abc.ABC):
    @abc.abstractmethod
    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start (idempotently, by name) the incident workflow; return the execution id."""


class InMemoryDetectionStore(DetectionStore):
    """Same semantics as the DynamoDB adapter; for unit tests and the benchmark."""

    def __init__(self) -> None:
        self.scopes: dict[str, str] = {}  # stored as the adapter stores them: JSON
        self.alerts: dict[tuple[str, str], str] = {}
        self.pending: dict[str, tuple[str, datetime]] = {}

    def load_scope(self, scope: str) -> ScopeState:
        s = self.scopes.get(scope)
        return ScopeState.model_validate_json(s) if s else ScopeState(scope=scope)

    def save_scope(self, state: ScopeState, expected_version: int) -> None:
        current = self.scopes.get(state.scope)
        if (ScopeState.model_validate_json(current).version if current else 0) != expected_version:
            raise StaleScopeError(state.scope)
        state.version = expected_version + 1
        self.scopes[state.scope] = state.model_dump_json()

    def scope(self, scope: str) -> ScopeState | None:
        s = self.scopes.get(scope)
        return ScopeState.model_validate_json(s) if s else None

    def record(self, source: str, key: str) -> AlertRecord | None:
        r = self.alerts.get((source, key))
        return AlertRecord.from_json(r) if r else None

    def get_alerts(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], AlertRecord]:
        return {k: AlertRecord.from_json(self.alerts[k]) for k in keys if k in self.alerts}

    def put_alerts(self, records: list[AlertRecord]) -> None:
        for r in records:
            self.alerts[(r.source, r.key)] = r.to_json()

    def put_pending(self, incident_id: str, scope: str, due: datetime) -> None:
        self.pending[incident_id] = (scope, due)

    def delete_pending(self, incident_id: str) -> None:
        self.pending.pop(incident_id, None)

    def list_pending(self) -> list[tuple[str, str, datetime]]:
        return [(i, s, d) for i, (s, d) in self.pending.items()]


class RecordingWorkflow(Workflow):
    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.started.setdefault(name, payload)
        return name
