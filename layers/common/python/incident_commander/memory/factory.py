"""Build the configured memory store and embedder once per process (Lambda container).

Given a `Resilience` (the functions' shared breakers), the remote backends go behind their circuits:
Titan behind `bedrock:<model>` with its per-minute limits, OpenSearch behind `opensearch`.
"""

from __future__ import annotations

import threading
from typing import Any

from ..config import LlmConfig, MemoryConfig
from .embedders import CachedEmbedder, Embedder, HashingEmbedder, MiniLMEmbedder
from .knowledge import load_knowledge
from .port import KEYWORD_WEIGHT, MemoryBackendError, MemoryStore

_lock = threading.Lock()
_stores: dict[str, MemoryStore] = {}


def backend(cfg: MemoryConfig) -> str:
    return cfg.backend if cfg.backend != "auto" else ("opensearch" if cfg.endpoint else "embedded")


def build_embedder(cfg: MemoryConfig, llm: LlmConfig | None = None, resilience: Any = None) -> Embedder:
    kind = cfg.embedder if cfg.embedder != "auto" else ("titan" if backend(cfg) == "opensearch" else "local")
    if kind == "hashing":
        return HashingEmbedder()
    if kind == "titan":
        from ..adapters.bedrock import TitanEmbedder, runtime_client

        if llm is None:
            from ..config import load_section

            llm = load_section(LlmConfig, "IC_LLM_")  # IC_LLM_ENDPOINT_URL: the bedrock-runtime endpoint
        client = runtime_client(endpoint_url=llm.endpoint_url or None)
        titan: Embedder = TitanEmbedder(client, cfg.dimensions)
        if resilience is not None:
            from ..resilience.guards import GuardedEmbedder

            titan = GuardedEmbedder(titan, resilience, titan.name)
        return CachedEmbedder(titan)  # cached texts never reach the circuit
    return CachedEmbedder(MiniLMEmbedder())


def build_store(cfg: MemoryConfig, embedder: Embedder | None = None, resilience: Any = None) -> MemoryStore:
    embedder = embedder or build_embedder(cfg, resilience=resilience)
    weights = (cfg.keyword_weight, 1.0 - cfg.keyword_weight) if cfg.keyword_weight < 1 else (KEYWORD_WEIGHT, 0.7)
    if backend(cfg) == "opensearch":
        if not cfg.endpoint:
            raise MemoryBackendError("IC_MEMORY_BACKEND=opensearch needs IC_MEMORY_ENDPOINT")
        from ..adapters.opensearch import OpenSearchMemory, aoss_client

        store: MemoryStore = OpenSearchMemory(aoss_client(cfg.endpoint), embedder, cfg.index, weights=weights)
        if resilience is not None:
            from ..resilience.guards import GuardedMemory

            store = GuardedMemory(store, resilience)
        store.ensure()  # type: ignore[attr-defined]
    else:
        from .embedded import EmbeddedMemory

        store = EmbeddedMemory(cfg.path, embedder, weights)
    if cfg.seed_knowledge and store.count() == 0:
        seed(store)
    return store


def seed(store: MemoryStore) -> int:
    """Write the packaged knowledge base (idempotent: same ids replace themselves)."""
    res = store.upsert(load_knowledge())
    return res.written


def store_for(cfg: MemoryConfig, resilience: Any = None) -> MemoryStore:
    """One store per configuration per process."""
    key = cfg.model_dump_json()
    with _lock:
        if key not in _stores:
            _stores[key] = build_store(cfg, resilience=resilience)
        return _stores[key]
