"""The memory port: every adapter stores patterns and answers hybrid (keyword + vector) queries.

Fusion is the same everywhere and the same as OpenSearch's normalization processor: each
sub-query's scores are min-max normalised over the documents that sub-query returned, then
combined by a weighted arithmetic mean (a document a sub-query did not return scores 0 there).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from .model import BulkResult, Hit, MemoryQuery, Pattern

KEYWORD_WEIGHT = 0.3
VECTOR_WEIGHT = 0.7
CANDIDATES = 100  # per sub-query, as OpenSearch recommends for hybrid search (100-200)


class MemoryBackendError(RuntimeError):
    """A memory backend failed; the message says which and why."""


class MemoryStore(abc.ABC):
    dimensions: int

    @abc.abstractmethod
    def upsert(self, patterns: Sequence[Pattern]) -> BulkResult:
        """Write patterns (insert or replace by id); per-item errors are reported, not raised."""

    @abc.abstractmethod
    def get(self, pattern_id: str) -> Pattern | None: ...

    @abc.abstractmethod
    def delete(self, pattern_id: str) -> bool: ...

    @abc.abstractmethod
    def search(self, query: MemoryQuery) -> list[Hit]: ...

    @abc.abstractmethod
    def count(self) -> int: ...


def min_max(scores: dict[str, float]) -> dict[str, float]:
    """OpenSearch's min_max: (s - min) / (max - min); a single score (or all equal) normalises to 1."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo <= 1e-12:
        return {k: 1.0 for k in scores}
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def fuse(keyword: dict[str, float], vector: dict[str, float], weights: tuple[float, float] = (KEYWORD_WEIGHT,
                                                                                             VECTOR_WEIGHT)
         ) -> dict[str, tuple[float, float, float]]:
    """id -> (fused, normalised keyword, normalised vector), weighted arithmetic mean of min-max scores."""
    nk, nv = min_max(keyword), min_max(vector)
    wk, wv = weights
    out = {}
    for doc in set(nk) | set(nv):
        k, v = nk.get(doc, 0.0), nv.get(doc, 0.0)
        out[doc] = ((wk * k + wv * v) / (wk + wv), k, v)
    return out


def matches_filters(p: Pattern, q: MemoryQuery) -> bool:
    if q.categories and p.category not in q.categories:
        return False
    if q.kinds and p.kind not in q.kinds:
        return False
    if q.since and p.created_at < q.since:
        return False
    if q.until and p.created_at > q.until:
        return False
    if q.services:
        wanted = {s.lower() for s in q.services}
        have = {s.lower() for s in p.services} | ({p.service.lower()} if p.service else set())
        if not wanted & have:
            return False
    return True


def keyword_terms(text: str, limit: int = 32) -> list[str]:
    """Distinct lower-case word tokens of a query, stop words removed, longest first (bounded)."""
    import re

    words = {w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOP}
    return sorted(words, key=lambda w: (-len(w), w))[:limit]


_STOP = frozenset("the and for with from that this into than then are was were has have had not but its".split())

