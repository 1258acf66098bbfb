"""The alert index entries a warm detection container has read or written, by scope.

A repeat is the common case in a storm, and reading its index entry (a strongly consistent read
unit per alert) was the largest cost left per repeat. The entries of a scope are written only
while a batch holds the scope, and every batch ends with a conditional save of the scope's
version: so when this container finds a scope at the very version it saved itself, nobody else
has saved it since, and the entries it kept are those a batch starting from that version must see.
Any other writer moves the version, and the scope's entries are read from the table again.

An alert's scope follows from its labels and the topology; a new topology (another object from the
topology cache) may move alerts between scopes, so it empties the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .state import AlertRecord

Key = tuple[str, str]  # (source, alert key)


class IndexCache:
    def __init__(self, max_entries: int = 100_000):
        self.max_entries = max_entries  # ~0.4 KB each: bounded well inside the function's memory
        self._scopes: dict[str, tuple[int, dict[Key, str]]] = {}  # scope -> (version saved, entries as stored)
        self._topology: Any = None

    def take(self, scope: str, version: int, topology: Any) -> dict[Key, str]:
        """The scope's entries if this container saved `version` of it last, else none. The scope is
        forgotten until `keep`: a batch that fails leaves nothing behind."""
        if topology is not self._topology:
            self._scopes, self._topology = {}, topology
        known = self._scopes.pop(scope, None)
        return known[1] if known is not None and known[0] == version else {}

    def keep(self, scope: str, version: int, entries: dict[Key, str]) -> None:
        """After the batch saved `version`: its entries as they now are in the table."""
        self._scopes[scope] = (version, entries)
        total = sum(len(e) for _, e in self._scopes.values())
        while total > self.max_entries and self._scopes:
            _, (_, dropped) = next(iter(self._scopes.items()))  # the scope used longest ago
            self._scopes.pop(next(iter(self._scopes)))
            total -= len(dropped)

    def moved(self, scope: str, old: int, new: int) -> None:
        """The scope was saved without touching its alerts (a scheduler tick)."""
        known = self._scopes.get(scope)
        if known is not None and known[0] == old:
            self._scopes[scope] = (new, known[1])

    @staticmethod
    def record(entries: dict[Key, str], records: Iterable[AlertRecord]) -> None:
        entries.update(((r.source, r.key), r.to_json()) for r in records)
