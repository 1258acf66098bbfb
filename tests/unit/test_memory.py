"""Memory: the behaviour suite (run here on the embedded store; the OpenSearch adapter runs the same
suite against the HTTP double in tests/integration/test_memory_opensearch.py), embedders, learning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from incident_commander.memory import MemoryQuery, Pattern
from incident_commander.memory.embedded import EmbeddedMemory
from incident_commander.memory.embedders import CachedEmbedder, HashingEmbedder, MiniLMEmbedder
from incident_commander.memory.knowledge import load_knowledge
from incident_commander.memory.port import fuse, min_max
from incident_commander.models import Category

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def patterns() -> list[Pattern]:
    return [
        Pattern(id="p-db", title="orders-db connection pool exhausted", category=Category.RESOURCE_EXHAUSTION,
                service="orders-db", services=["orders-api", "orders-db"], symptoms=["connections", "errors"],
                alert_names=["TooManyConnections", "HighRequestErrorRate"], fix="restart_service on orders-db",
                created_at=T0),
        Pattern(id="p-cert", title="expired TLS certificate on payments gateway", category=Category.AUTH_OR_CREDENTIAL,
                service="payments", services=["payments", "checkout"], symptoms=["auth"],
                alert_names=["SSLCertExpired"], created_at=T0 + timedelta(days=10)),
        Pattern(id="p-disk", title="disk full on logging volume", category=Category.STORAGE_FAILURE,
                service="logs", services=["logs"], symptoms=["disk"], alert_names=["NodeFilesystemAlmostOutOfSpace"],
                created_at=T0 + timedelta(days=20)),
        Pattern(id="kb-net", kind="knowledge", title="packet loss between services", category=Category.NETWORK,
                symptoms=["latency", "errors"], alert_names=["HighRequestLatency"], created_at=T0),
    ]


def behaviour_suite(store) -> None:
    """What every memory adapter must do, whatever it runs on."""
    assert store.upsert(patterns()).written == 4 and store.count() == 4
    hits = store.search(MemoryQuery(text="TooManyConnections orders-db connection pool exhausted errors", k=3))
    assert hits[0].pattern.id == "p-db" and 0 <= hits[-1].score <= hits[0].score <= 1
    # filters: service, category, kind, time
    only = store.search(MemoryQuery(text="certificate expired", services=["checkout"], k=5))
    assert [h.pattern.id for h in only] == ["p-cert"]
    cat = store.search(MemoryQuery(text="connection pool", categories=[Category.STORAGE_FAILURE], k=5))
    assert {h.pattern.id for h in cat} == {"p-disk"}
    know = store.search(MemoryQuery(text="latency", kinds=["knowledge"], k=5))
    assert {h.pattern.id for h in know} == {"kb-net"}
    recent = store.search(MemoryQuery(text="disk full", since=T0 + timedelta(days=5), k=5))
    assert {h.pattern.id for h in recent} == {"p-cert", "p-disk"}
    # upsert replaces by id (a human correction), delete removes
    corrected = patterns()[0].model_copy(update={"category": Category.DEPENDENCY_FAILURE, "outcome": "corrected"})
    assert store.upsert([corrected]).written == 1 and store.count() == 4
    assert store.get("p-db").category == Category.DEPENDENCY_FAILURE
    assert store.delete("p-disk") and not store.delete("p-disk") and store.count() == 3
    assert store.get("p-disk") is None
    assert store.search(MemoryQuery(text="disk full logging volume", categories=[Category.STORAGE_FAILURE])) == []


def test_embedded_store_passes_the_behaviour_suite(tmp_path):
    behaviour_suite(EmbeddedMemory(tmp_path / "m.sqlite", HashingEmbedder()))


def test_embedded_store_is_one_file_that_reopens(tmp_path):
    path = tmp_path / "m.sqlite"
    EmbeddedMemory(path, HashingEmbedder()).upsert(patterns())
    again = EmbeddedMemory(path, HashingEmbedder())
    assert again.count() == 4 and again.get("p-cert").service == "payments"
    # the keyword index is read back from FTS5 at open and grows with each upsert (stemmed: "zookeepers")
    again.upsert([Pattern(id="p-zk", title="zookeeper quorum lost", category=Category.DEPENDENCY_FAILURE,
                          created_at=T0)])
    hit = again.search(MemoryQuery(text="zookeepers", k=1))[0]
    assert hit.pattern.id == "p-zk" and hit.keyword == 1.0
    assert again.search(MemoryQuery(text="expired certificate", k=1))[0].pattern.id == "p-cert"
    with pytest.raises(Exception, match="built with embedder"):
        EmbeddedMemory(path, HashingEmbedder(dimensions=128))


def test_fusion_is_min_max_then_weighted_mean_as_opensearch_does():
    assert min_max({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert min_max({"a": 7.0}) == {"a": 1.0}
    fused = fuse({"a": 10.0, "b": 0.0}, {"b": 0.9, "c": 0.1}, (0.3, 0.7))
    assert fused["a"] == pytest.approx((0.3, 1.0, 0.0))  # absent from the vector list: 0 there
    assert fused["b"] == pytest.approx((0.7, 0.0, 1.0))
    assert fused["c"] == pytest.approx((0.0, 0.0, 0.0))


def test_cache_never_embeds_the_same_text_twice():
    e = CachedEmbedder(HashingEmbedder())
    a = e.embed(["x y", "x y", "z"])
    e.embed(["z", "x y"])
    assert e.misses == 2 and np.allclose(a[0], a[1])


@pytest.mark.skipif(not MiniLMEmbedder.available(), reason="model package not installed")
def test_local_minilm_matches_the_reference_model():
    """all-MiniLM-L6-v2's published embedding of this sentence starts with these values."""
    v = MiniLMEmbedder().embed(["This is an example sentence"])[0]
    assert v.shape == (384,) and np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    assert v[:6] == pytest.approx([0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480, 0.0026528], abs=2e-5)
    s = MiniLMEmbedder().embed(["database ran out of connections", "connection pool exhausted on postgres",
                                "the cat sat on the mat"])
    assert s[0] @ s[1] > s[0] @ s[2] + 0.3


def test_the_knowledge_base_loads_and_covers_every_category():
    kb = load_knowledge()
    assert len({p.id for p in kb}) == len(kb) >= 15
    assert {p.category for p in kb} >= set(Category) - {Category.STORAGE_FAILURE} | {Category.STORAGE_FAILURE}
    assert all(p.kind == "knowledge" and p.symptoms for p in kb)
