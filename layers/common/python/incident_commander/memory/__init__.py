"""RAG memory: past incidents and failure-mode knowledge, searched by keywords and meaning together."""

from .model import BulkResult, Hit, MemoryQuery, Pattern
from .port import MemoryBackendError, MemoryStore

__all__ = ["BulkResult", "Hit", "MemoryBackendError", "MemoryQuery", "MemoryStore", "Pattern"]
