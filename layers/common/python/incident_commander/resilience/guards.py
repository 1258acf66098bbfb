"""Remote memory dependencies behind their circuits: the Titan embedder (Bedrock) and OpenSearch.

Only failures of the dependency itself count (throttling, 5xx, timeouts, refused connections); a
4xx caused by our own request does not open a circuit. While a circuit is open calls fail at once
with the backend's own error type, so callers (the memory diagnoser, the learning agent) treat it
like any other outage of that backend: a missing vote, a retried event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..memory.embedders import Embedder, EmbedderError
from ..memory.model import BulkResult, Hit, MemoryQuery, Pattern
from ..memory.port import MemoryBackendError, MemoryStore
from .ratelimit import RateLimited
from .runtime import Resilience

T = TypeVar("T")
E = TypeVar("E", bound=Exception)
CHARS_PER_TOKEN = 4


class GuardedEmbedder(Embedder):
    """A remote embedder behind the model's circuit and its requests/tokens-per-minute limits."""

    def __init__(self, inner: Embedder, res: Resilience, model: str):
        self.inner, self.res, self.model = inner, res, model
        self.name, self.dimensions = inner.name, inner.dimensions
        self.circuit = f"bedrock:{model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        br = self.res.breaker(self.circuit)
        if not br.allow():
            self.res.refused(self.circuit)
            raise _tagged(EmbedderError(f"{self.circuit} circuit open: not called"), self.circuit, circuit_open=True)
        try:
            for t in texts:  # one InvokeModel request per text
                self.res.model_limiter(self.model, len(t) // CHARS_PER_TOKEN + 1)
        except RateLimited as exc:
            br.release()
            raise _tagged(EmbedderError(f"{self.model}: rate limited ({exc.wait:.1f}s to the next slot)"),
                          self.circuit) from exc
        try:
            out = self.inner.embed(texts)
        except EmbedderError as exc:
            br.record_failure(str(exc)[:200])
            _tagged(exc, self.circuit)
            raise
        br.record_success()
        return out


def _tagged(exc: E, circuit: str, circuit_open: bool = False) -> E:
    """The error, naming the circuit it came through (`timeline.from_memory_error` reads it)."""
    exc.circuit, exc.circuit_open = circuit, circuit_open  # type: ignore[attr-defined]
    return exc


def transient(exc: Exception) -> bool:
    """A failure of OpenSearch itself: 429, 5xx, timeout or no connection (not our bad request)."""
    from opensearchpy.exceptions import TransportError

    if isinstance(exc, TransportError):
        status = exc.status_code
        return not isinstance(status, int) or status == 429 or status >= 500
    return isinstance(exc, (OSError, TimeoutError))


class GuardedMemory(MemoryStore):
    """A memory store (OpenSearch Serverless) behind the `opensearch` circuit."""

    def __init__(self, inner: MemoryStore, res: Resilience, circuit: str = "opensearch",
                 is_failure: Callable[[Exception], bool] = transient):
        self.inner, self.res, self.circuit, self.is_failure = inner, res, circuit, is_failure
        self.dimensions = inner.dimensions

    def _call(self, fn: Callable[[], T]) -> T:
        br = self.res.breaker(self.circuit)
        if not br.allow():
            self.res.refused(self.circuit)
            raise _tagged(MemoryBackendError(f"{self.circuit} circuit open: not called"), self.circuit, circuit_open=True)
        try:
            out = fn()
        except EmbedderError:
            br.release()  # the embedder failed before OpenSearch was asked: not this circuit's failure
            raise
        except Exception as exc:
            if not self.is_failure(exc):
                br.record_success()  # it answered (a 4xx is our request's fault)
                raise
            br.record_failure(f"{type(exc).__name__}: {str(exc)[:150]}")
            raise _tagged(MemoryBackendError(f"{self.circuit}: {type(exc).__name__}: {str(exc)[:200]}"),
                          self.circuit) from exc
        br.record_success()
        return out

    def ensure(self) -> None:
        ensure: Any = getattr(self.inner, "ensure", None)
        if ensure is not None:
            self._call(ensure)

    def upsert(self, patterns: Sequence[Pattern]) -> BulkResult:
        return self._call(lambda: self.inner.upsert(patterns))

    def get(self, pattern_id: str) -> Pattern | None:
        return self._call(lambda: self.inner.get(pattern_id))

    def delete(self, pattern_id: str) -> bool:
        return self._call(lambda: self.inner.delete(pattern_id))

    def search(self, query: MemoryQuery) -> list[Hit]:
        return self._call(lambda: self.inner.search(query))

    def count(self) -> int:
        return self._call(self.inner.count)
