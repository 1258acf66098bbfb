"""Shared state for breakers, buckets and routers: a versioned document per name.

The DynamoDB adapter (`adapters/resilience_store.py`) keeps them in the control table with a
version condition; the in-memory one has the same semantics for unit tests and benchmarks.
"""

from __future__ import annotations

import abc
import threading
from typing import Any


class StaleState(RuntimeError):
    """Another container updated the state first: re-read and decide again."""


class StateStore(abc.ABC):
    @abc.abstractmethod
    def get(self, kind: str, name: str) -> tuple[dict[str, Any] | None, int]:
        """(document, version); (None, 0) when absent."""

    @abc.abstractmethod
    def put(self, kind: str, name: str, doc: dict[str, Any], expected_version: int) -> int:
        """Write if the version still is `expected_version`; return the new version or raise StaleState."""

    @abc.abstractmethod
    def list(self, kind: str) -> dict[str, dict[str, Any]]: ...


class InMemoryStateStore(StateStore):
    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, name: str) -> tuple[dict[str, Any] | None, int]:
        doc, v = self._docs.get((kind, name), (None, 0))
        return (dict(doc) if doc is not None else None), v

    def put(self, kind: str, name: str, doc: dict[str, Any], expected_version: int) -> int:
        with self._lock:
            _, v = self._docs.get((kind, name), (None, 0))
            if v != expected_version:
                raise StaleState(f"{kind}/{name}")
            self._docs[(kind, name)] = (dict(doc), v + 1)
            return v + 1

    def list(self, kind: str) -> dict[str, dict[str, Any]]:
        return {n: dict(d) for (k, n), (d, _) in self._docs.items() if k == kind}


def update(store: StateStore, kind: str, name: str, change: Any, attempts: int = 10) -> dict[str, Any]:
    """Optimistic read-modify-write; `change(doc | None) -> doc`. Returns the written document."""
    for _ in range(attempts):
        doc, version = store.get(kind, name)
        new = change(doc)
        try:
            store.put(kind, name, new, version)
            return new
        except StaleState:
            continue
    raise StaleState(f"{kind}/{name}: too much contention")
