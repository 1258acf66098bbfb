"""The incident event store: append-only, hash-chained, optimistic concurrency, idempotent appends."""

from .integrity import VerifyResult, verify_chain
from .port import ConcurrencyError, EventStore, append_with_retry

__all__ = ["ConcurrencyError", "EventStore", "append_with_retry", "VerifyResult", "verify_chain"]
