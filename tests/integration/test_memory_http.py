"""The OpenSearch adapter and the Bedrock clients, driven by the real clients (opensearch-py, boto3)
against local HTTP doubles that speak the REST APIs and check SigV4."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from incident_commander.adapters.bedrock import TitanEmbedder, runtime_client
from incident_commander.adapters.opensearch import (
    OpenSearchMemory,
    aoss_client,
    index_body,
    pipeline_body,
    search_body,
)
from incident_commander.config import LlmConfig
from incident_commander.diagnosis import DiagnosisInput
from incident_commander.diagnosis.llm import LlmDiagnoser, LlmUnavailable
from incident_commander.memory import MemoryQuery
from incident_commander.memory.embedders import CachedEmbedder, HashingEmbedder
from incident_commander.models import Category

from ..unit.test_diagnosis import SHOP, incident
from ..unit.test_memory import behaviour_suite
from .memory_doubles import ACCESS_KEY, REGION, SECRET_KEY, BedrockDouble, OpenSearchDouble


@pytest.fixture
def session():
    return boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION)


@pytest.fixture
def aoss():
    with OpenSearchDouble() as double:
        yield double


def memory(aoss, session, **kw) -> OpenSearchMemory:
    m = OpenSearchMemory(aoss_client(aoss.endpoint, REGION, session), HashingEmbedder(), **kw)
    m.ensure()
    return m


def test_opensearch_adapter_passes_the_same_behaviour_suite(aoss, session):
    behaviour_suite(memory(aoss, session))
    assert not aoss.rejected  # every request was signed for aoss with the right key


def test_requests_with_a_wrong_key_or_for_another_service_are_refused(aoss, session):
    from opensearchpy import AWSV4SignerAuth

    wrong = boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key="not-the-secret", region_name=REGION)
    m = OpenSearchMemory(aoss_client(aoss.endpoint, REGION, wrong), HashingEmbedder())
    with pytest.raises(Exception, match="403|AuthorizationException"):
        m.ensure()
    es = aoss_client(aoss.endpoint, REGION, session)
    es.transport.connection_pool.connection.session.auth = AWSV4SignerAuth(session.get_credentials(), REGION, "es")
    with pytest.raises(Exception, match="403|AuthorizationException"):
        es.indices.exists(index="x")
    assert aoss.rejected == ["signature does not match", "signed for service 'es', expected 'aoss'"]


def test_bulk_reports_per_item_errors_and_keeps_the_rest(aoss, session):
    from ..unit.test_memory import patterns

    m = memory(aoss, session)
    aoss.fail_ids = {"p-cert"}
    res = m.upsert(patterns())
    assert res.written == 3 and set(res.errors) == {"p-cert"} and "400" in res.errors["p-cert"]
    assert m.count() == 3 and m.get("p-db") is not None


def test_index_mapping_pipeline_and_query_bodies_are_the_golden_ones(aoss, session):
    m = memory(aoss, session, weights=(0.3, 0.7))
    assert aoss.indices["incident-memory"]["mappings"] == index_body(384)["mappings"]
    assert index_body(384)["mappings"]["properties"]["embedding"] == {
        "type": "knn_vector", "dimension": 384,
        "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct",
                   "parameters": {"m": 16, "ef_construction": 128}}}
    assert aoss.pipelines["incident-memory-hybrid"] == pipeline_body((0.3, 0.7)) == {
        "description": "incident memory: keyword + vector, min-max normalised, weighted mean",
        "phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max"},
            "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}}}}]}
    q = MemoryQuery(text="disk full", k=3, services=["Logs"], categories=[Category.STORAGE_FAILURE],
                    since=datetime(2025, 1, 1, tzinfo=UTC))
    body = search_body(q, [0.5, 0.5])
    flt = [{"terms": {"category": ["storage_failure"]}},
           {"bool": {"should": [{"terms": {"services": ["logs"]}}, {"terms": {"service": ["logs"]}}],
                     "minimum_should_match": 1}},
           {"range": {"created_at": {"gte": "2025-01-01T00:00:00+00:00"}}}]
    assert body == {"size": 3, "_source": {"excludes": ["embedding"]}, "query": {"hybrid": {"queries": [
        {"bool": {"must": [{"match": {"body": {"query": "disk full"}}}], "filter": flt}},
        {"knn": {"embedding": {"vector": [0.5, 0.5], "k": 100, "filter": {"bool": {"filter": flt}}}}}]}}}
    m.search(q)
    sent = [r for r in aoss.requests if r[1].endswith("/_search") and "hybrid" in json.dumps(r[2])]
    assert sent and sent[-1][2]["query"]["hybrid"]["queries"][0] == body["query"]["hybrid"]["queries"][0]


def test_titan_embedder_through_the_bedrock_double(session):
    with BedrockDouble() as double:
        client = session.client("bedrock-runtime", endpoint_url=double.endpoint)
        e = CachedEmbedder(TitanEmbedder(client, dimensions=256))
        v = e.embed(["connection pool exhausted", "connection pool exhausted", "disk full"])
        assert v.shape == (3, 256) and e.misses == 2
        assert [r[2]["dimensions"] for r in double.requests] == [256, 256]
        assert not double.rejected


def _answer(doc):
    return 200, {"output": {"message": {"role": "assistant", "content": [{"text": json.dumps({"hypotheses": [
        {"category": "resource_exhaustion", "service": "orders-db", "confidence": 0.7, "summary": "pool",
         "alert_keys": ["k002"], "causal_path": ["orders", "orders-db"]}]})}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1}}


STORM = (("HighRequestErrorRate", "orders", "errors"), ("HighRequestErrorRate", "web", "errors"),
         ("TooManyConnections", "orders-db", "connection pool exhausted"))


def test_llm_converse_through_the_bedrock_double(session):
    inp = DiagnosisInput.build(incident(*STORM), SHOP)
    with BedrockDouble(converse=_answer) as double:
        client = runtime_client(REGION, double.endpoint, timeout_s=2.0, session=session)
        hyps = LlmDiagnoser(client, LlmConfig(enabled=True)).diagnose(inp)
        assert (hyps[0].category, hyps[0].service) == (Category.RESOURCE_EXHAUSTION, "orders-db")
        sent = double.requests[-1][2]
        assert sent["inferenceConfig"]["maxTokens"] == 800 and "k002" in sent["messages"][0]["content"][0]["text"]
        assert not double.rejected


def test_llm_slower_than_its_timeout_steps_aside(session):
    inp = DiagnosisInput.build(incident(*STORM), SHOP)
    with BedrockDouble(converse=_answer, delay_s=1.5) as double:
        client = runtime_client(REGION, double.endpoint, timeout_s=0.5, max_attempts=1, session=session)
        with pytest.raises(LlmUnavailable, match="timeout"):
            LlmDiagnoser(client, LlmConfig(enabled=True)).diagnose(inp)
