"""The memory and LLM diagnosers, learning, and the LLM's Bedrock calls through botocore's Stubber."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber
from incident_commander.adapters.bedrock import TitanEmbedder
from incident_commander.config import LlmConfig
from incident_commander.diagnosis import DiagnosisInput
from incident_commander.diagnosis.llm import LlmDiagnoser, LlmUnavailable, build_prompt, estimate_tokens
from incident_commander.diagnosis.memory import MemoryDiagnoser
from incident_commander.memory.embedded import EmbeddedMemory
from incident_commander.memory.embedders import CachedEmbedder, HashingEmbedder
from incident_commander.memory.knowledge import load_knowledge
from incident_commander.memory.learning import NotLearnable, pattern_from_incident
from incident_commander.models import Category, Decision, DecisionKind, Hypothesis

from .test_diagnosis import SHOP, T0, incident

DB_STORM = (("HighRequestErrorRate", "orders", "errors"), ("HighRequestErrorRate", "web", "errors"),
            ("TooManyConnections", "orders-db", "connection pool exhausted"))


def store(tmp_path):
    s = EmbeddedMemory(tmp_path / "m.sqlite", HashingEmbedder())
    s.upsert(load_knowledge())
    return s


def resolved(state, category="resource_exhaustion", service="orders-db", decided=("resource_exhaustion", "orders-db")):
    root = Hypothesis(category=decided[0], service=decided[1], confidence=0.9, causal_path=["web", "orders",
                                                                                           decided[1]])
    return state.model_copy(update={
        "first_alert_at": T0, "resolved_at": T0 + timedelta(minutes=12), "updated_at": T0 + timedelta(minutes=12),
        "decision": Decision(kind=DecisionKind.AUTO_REMEDIATE, confidence=0.9, root_cause=root, reason="x",
                             action="restart_service"),
        "confirmed_root_cause": {"category": category, "service": service, "by": "alice"}})


def test_memory_places_a_knowledge_failure_mode_on_the_service_showing_it(tmp_path):
    inp = DiagnosisInput.build(incident(*DB_STORM), SHOP)
    hyps = MemoryDiagnoser(store(tmp_path)).diagnose(inp)
    top = hyps[0]
    assert (top.category, top.service) == (Category.RESOURCE_EXHAUSTION, "orders-db")
    assert any(e.kind == "past_incident" and e.supports for e in top.evidence)
    assert any(not e.supports for e in top.evidence)  # the evidence against is shown too


def test_a_learned_incident_is_recalled_with_its_fix_and_a_correction_replaces_it(tmp_path):
    s = store(tmp_path)
    past = resolved(incident(*DB_STORM).model_copy(update={"incident_id": "inc-past"}))
    p = pattern_from_incident(past)
    assert (p.outcome, p.time_to_resolve_s, p.topology_path) == ("confirmed", 720.0, ["web", "orders", "orders-db"])
    s.upsert([p])
    hyps = MemoryDiagnoser(s).diagnose(DiagnosisInput.build(incident(*DB_STORM), SHOP))
    recalled = [h for h in hyps if any(e.ref == "incident:inc-past" for e in h.evidence)]
    assert recalled and recalled[0].service == "orders-db" and "restart_service" in recalled[0].summary
    corrected = pattern_from_incident(resolved(past, category="dependency_failure", service="orders"))
    s.upsert([corrected])
    assert s.get("incident:inc-past").category == Category.DEPENDENCY_FAILURE
    assert s.get("incident:inc-past").outcome == "corrected"
    with pytest.raises(NotLearnable):
        pattern_from_incident(incident(*DB_STORM))


def _converse_reply(payload: dict) -> dict:
    return {"output": {"message": {"role": "assistant", "content": [{"text": json.dumps(payload)}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20},
            "metrics": {"latencyMs": 5}}


def llm(client, **cfg):
    return LlmDiagnoser(client, LlmConfig(enabled=True, **cfg))


def stubbed():
    client = boto3.client("bedrock-runtime", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    return client, Stubber(client)


def test_llm_claims_must_cite_what_exists_and_hallucinations_are_dropped():
    inp = DiagnosisInput.build(incident(*DB_STORM), SHOP)
    client, stub = stubbed()
    stub.add_response("converse", _converse_reply({"hypotheses": [
        {"category": "resource_exhaustion", "service": "orders-db", "confidence": 0.99, "summary": "pool full",
         "alert_keys": ["k002", "made-up-key"], "causal_path": ["web", "orders", "orders-db", "ghost"]},
        {"category": "network", "service": "mainframe", "confidence": 0.9, "alert_keys": ["k000"]},
        {"category": "application_error", "service": "orders", "confidence": 0.3, "alert_keys": ["nope"]},
    ]}))
    with stub:
        hyps = llm(client).diagnose(inp)
    assert len(hyps) == 1
    h = hyps[0]
    assert (h.category, h.service, h.confidence) == (Category.RESOURCE_EXHAUSTION, "orders-db", 0.85)  # capped
    assert [e.ref for e in h.evidence if e.kind == "alert"] == ["k002"]
    assert h.causal_path == ["web", "orders", "orders-db"]
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("error,kind", [("ThrottlingException", "throttled"), ("ModelTimeoutException", "timeout"),
                                        ("AccessDeniedException", "error")])
def test_llm_steps_aside_when_bedrock_fails(error, kind):
    client, stub = stubbed()
    stub.add_client_error("converse", service_error_code=error, http_status_code=429)
    with stub, pytest.raises(LlmUnavailable, match=kind):
        llm(client).diagnose(DiagnosisInput.build(incident(*DB_STORM), SHOP))


def test_llm_answer_that_is_not_the_schema_is_rejected_and_off_means_off():
    client, stub = stubbed()
    stub.add_response("converse", {"output": {"message": {"role": "assistant", "content": [
        {"text": "I think it is the database."}]}}, "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}})
    with stub, pytest.raises(LlmUnavailable, match="no JSON"):
        llm(client).diagnose(DiagnosisInput.build(incident(*DB_STORM), SHOP))
    with pytest.raises(LlmUnavailable, match="disabled"):
        LlmDiagnoser(client, LlmConfig(enabled=False)).diagnose(DiagnosisInput.build(incident(*DB_STORM), SHOP))


def test_prompt_stays_within_its_token_budget_and_says_what_it_left_out():
    storm = [("HighRequestErrorRate", s, "error rate above threshold " * 5) for s in SHOP.services] * 30
    inp = DiagnosisInput.build(incident(*storm), SHOP)
    prompt = build_prompt(inp, 1500)
    assert estimate_tokens(prompt) <= 1500
    assert "more alerts omitted" in prompt
    assert "all alerts shown" in build_prompt(DiagnosisInput.build(incident(*DB_STORM), SHOP), 3000)


def test_titan_embeddings_have_the_configured_dimensions_and_are_cached():
    client, stub = stubbed()
    stub.add_response("invoke_model", {"body": io.BytesIO(json.dumps({"embedding": [3.0, 4.0] + [0.0] * 254,
                                                                      "inputTextTokenCount": 2}).encode()),
                                       "contentType": "application/json"},
                      {"modelId": "amazon.titan-embed-text-v2:0", "contentType": "application/json",
                       "accept": "application/json",
                       "body": json.dumps({"inputText": "disk full", "dimensions": 256, "normalize": True})})
    e = CachedEmbedder(TitanEmbedder(client, dimensions=256))
    with stub:
        v = e.embed(["disk full", "disk full"])
    assert v.shape == (2, 256) and v[0][:2] == pytest.approx([0.6, 0.8])
    stub.assert_no_pending_responses()
    with pytest.raises(Exception, match="dimensions must be one of"):
        TitanEmbedder(client, dimensions=384)
