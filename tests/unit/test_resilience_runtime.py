"""Resilience wired into its call sites: configuration, metrics and /health, LLM routing with
fallbacks and rate limits, OpenSearch and Titan behind circuits, notifications on escalation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from incident_commander.config import ConfigError, LlmConfig, ResilienceConfig, Settings, load_section
from incident_commander.diagnosis import DiagnosisInput
from incident_commander.diagnosis.llm import LlmDiagnoser, LlmUnavailable
from incident_commander.memory.embedders import EmbedderError, HashingEmbedder
from incident_commander.memory.model import MemoryQuery
from incident_commander.memory.port import MemoryBackendError
from incident_commander.models.events import EventType
from incident_commander.notify.notifier import DeliveryError, Notifier
from incident_commander.resilience import InMemoryStateStore
from incident_commander.resilience.guards import GuardedEmbedder, GuardedMemory
from incident_commander.resilience.runtime import Resilience
from incident_commander.resilience.timeline import from_memory_error, from_route

from .test_diagnosis import SHOP, incident
from .test_notify import FakeSender as Sender
from .test_resilience import FakeClock

STORM = (("HighRequestErrorRate", "orders", "errors"), ("HighRequestErrorRate", "web", "errors"),
         ("TooManyConnections", "orders-db", "connection pool exhausted"))
GOOD = {"hypotheses": [{"category": "resource_exhaustion", "service": "orders-db", "confidence": 0.7,
                        "summary": "pool", "alert_keys": ["k002"], "causal_path": ["orders", "orders-db"]}]}


def res(clock=None, **cfg) -> tuple[Resilience, list]:
    metrics: list = []
    clock = clock or FakeClock()
    r = Resilience(InMemoryStateStore(), ResilienceConfig.model_validate(cfg), clock=clock, sleep=clock.sleep,
                   metric=lambda name, value, dims: metrics.append((name, value, dims)))
    return r, metrics


def reply(payload) -> dict:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20}, "metrics": {"latencyMs": 5}}


def stubbed():
    client = boto3.client("bedrock-runtime", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


LLM = LlmConfig(enabled=True, model_id="primary", fallback_models=["fallback"])


# --- configuration -----------------------------------------------------------------------------------
def test_breakers_limits_and_retries_are_configured_from_the_environment():
    s = Settings.from_env({"IC_RESILIENCE_BREAKERS": '{"slack": {"failure_threshold": 2, "open_seconds": 5}}',
                           "IC_RESILIENCE_RATE_LIMITS": '{"slack": {"capacity": 3, "per_second": 0.5}}',
                           "IC_LLM_FALLBACK_MODELS": '["amazon.nova-lite-v1:0"]', "IC_RETRY_MODE": "adaptive"})
    assert s.resilience.breaker_for("slack").failure_threshold == 2
    assert s.resilience.breaker_for("opensearch").failure_threshold == 5  # the default breaker
    assert s.resilience.breaker_for("bedrock:any-model").open_seconds == 60
    assert s.llm.fallback_models == ["amazon.nova-lite-v1:0"] and s.retry.mode == "adaptive"
    r = Resilience(InMemoryStateStore(), s.resilience)
    assert (r.bucket("slack:#ops").capacity, r.bucket("pagerduty:k").capacity) == (3, 120)
    with pytest.raises(ConfigError, match="IC_RETRY_MODE"):
        Settings.from_env({"IC_RETRY_MODE": "forever"})
    with pytest.raises(ConfigError, match="IC_RESILIENCE_BREAKERS"):
        load_section(ResilienceConfig, "IC_RESILIENCE_", {"IC_RESILIENCE_BREAKERS": '{"x": {"failure_threshold": 0}}'})


def test_botocore_gets_the_configured_retry_mode(monkeypatch):
    from incident_commander.adapters import aws

    monkeypatch.setenv("IC_RETRY_MODE", "adaptive")
    monkeypatch.setenv("IC_RETRY_MAX_ATTEMPTS", "7")
    cfg = aws.retry_config()
    assert cfg.retries == {"mode": "adaptive", "max_attempts": 7}


# --- metrics and health --------------------------------------------------------------------------------
def test_transitions_become_metrics_and_health_shows_circuits_any_container_opened():
    clock = FakeClock()
    r, metrics = res(clock, breakers={"opensearch": {"failure_threshold": 2, "open_seconds": 10}})
    other_container = Resilience(r.store, r.config, clock=clock, metric=lambda *a: None)
    for _ in range(2):
        other_container.breaker("opensearch").record_failure("503")
    assert r.health()["status"] == "degraded"
    assert r.health()["detail"]["circuits"]["opensearch"]["state"] == "open"
    assert not r.breaker("opensearch").allow()
    clock.t += 11
    b = r.breaker("opensearch")
    assert b.allow() and b.allow()
    b.record_success()
    b.record_success()
    assert r.health()["status"] == "ok"
    assert [(m[1], m[2]["dependency"]) for m in metrics] == [(1.0, "opensearch"), (0.0, "opensearch")]
    assert [(t.previous, t.state) for t in r.transitions] == [("open", "half_open"), ("half_open", "closed")]


# --- LLM routing -------------------------------------------------------------------------------------
def test_a_throttled_primary_routes_to_the_fallback_and_the_timeline_says_so():
    r, _ = res()
    client, stub = stubbed()
    stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429,
                          expected_params=None)
    stub.add_response("converse", reply(GOOD))
    llm = LlmDiagnoser(client, LLM, router=r.router("diagnose", LLM))
    with stub:
        hyps = llm.diagnose(DiagnosisInput.build(incident(*STORM), SHOP))
    assert hyps[0].service == "orders-db" and llm.model == "fallback"
    assert llm.notes[0].startswith("primary: throttled")
    entries = from_route(llm.setbacks, llm.model)
    assert [(e.dependency, e.state, e.effect) for e in entries] == [("bedrock:primary", "failed", "answered by fallback")]


def test_malformed_output_counts_against_the_model_and_no_model_left_means_no_llm_vote():
    clock = FakeClock()
    r, _ = res(clock, breakers={"bedrock": {"failure_threshold": 1, "open_seconds": 60}})
    client, stub = stubbed()
    stub.add_response("converse", reply("the database, I think"))
    stub.add_client_error("converse", service_error_code="ModelTimeoutException", http_status_code=408)
    llm = LlmDiagnoser(client, LLM, router=r.router("diagnose", LLM))
    inp = DiagnosisInput.build(incident(*STORM), SHOP)
    with stub, pytest.raises(LlmUnavailable, match="no model available") as err:
        llm.diagnose(inp)
    assert "primary: malformed" in str(err.value) and "fallback: timeout" in str(err.value)
    with pytest.raises(LlmUnavailable, match="circuit open"):  # both circuits open: Bedrock is not called
        llm.diagnose(inp)
    health = r.router("diagnose", LLM).health()
    assert health["status"] == "degraded" and health["detail"]["routing_to"] is None
    assert [e.effect for e in from_route(llm.setbacks, llm.model)] == ["no LLM vote: the other diagnosers decide"] * 2


def test_a_model_out_of_quota_is_skipped_without_counting_as_a_failure():
    r, _ = res(model_limits={"primary": {"requests_per_minute": 1, "tokens_per_minute": 100_000}},
               wait_budget_seconds=0)
    client, stub = stubbed()
    for _ in range(2):
        stub.add_response("converse", reply(GOOD))
    router = r.router("diagnose", LLM)
    llm = LlmDiagnoser(client, LLM, router=router)
    inp = DiagnosisInput.build(incident(*STORM), SHOP)
    with stub:
        llm.diagnose(inp)
        assert llm.model == "primary"
        llm.diagnose(inp)  # the primary's one request this minute is used: the fallback answers
    assert llm.model == "fallback" and "rate limited" in llm.notes[0]
    assert router.breaker("primary").snapshot()["failures"] == []


# --- memory backends --------------------------------------------------------------------------------
class FlakyStore:
    dimensions = 8

    def __init__(self, error):
        self.error, self.calls = error, 0

    def search(self, query):
        self.calls += 1
        raise self.error


def test_opensearch_5xx_opens_its_circuit_and_a_4xx_does_not():
    from opensearchpy.exceptions import RequestError, TransportError

    r, _ = res(breakers={"opensearch": {"failure_threshold": 2}})
    down = FlakyStore(TransportError(503, "unavailable", {}))
    mem = GuardedMemory(down, r)
    for _ in range(2):
        with pytest.raises(MemoryBackendError, match="opensearch: TransportError"):
            mem.search(MemoryQuery(text="db"))
    with pytest.raises(MemoryBackendError, match="circuit open") as refused:
        mem.search(MemoryQuery(text="db"))
    assert down.calls == 2
    (entry,) = from_memory_error(refused.value)  # what the memory diagnoser's timeline says
    assert (entry.dependency, entry.state) == ("opensearch", "open")
    r2, _ = res(breakers={"opensearch": {"failure_threshold": 1}})
    bad = GuardedMemory(FlakyStore(RequestError(400, "parsing_exception", {})), r2)
    for _ in range(2):
        with pytest.raises(RequestError):
            bad.search(MemoryQuery(text="db"))
    assert r2.health()["status"] == "ok"


def test_titan_failures_open_the_embedding_models_circuit():
    class Down(HashingEmbedder):
        def embed(self, texts):
            raise EmbedderError("Titan embedding failed: throttled")

    r, _ = res(breakers={"bedrock": {"failure_threshold": 1}})
    e = GuardedEmbedder(Down(), r, "amazon.titan-embed-text-v2:0")
    with pytest.raises(EmbedderError, match="throttled") as failed:
        e.embed(["a"])
    with pytest.raises(EmbedderError, match="circuit open") as refused:
        e.embed(["a"])
    assert [(x.dependency, x.state) for x in from_memory_error(failed.value) + from_memory_error(refused.value)] == [
        ("bedrock:amazon.titan-embed-text-v2:0", "failed"), ("bedrock:amazon.titan-embed-text-v2:0", "open")]
    assert r.health()["detail"]["not_closed"] == ["bedrock:amazon.titan-embed-text-v2:0"]


# --- notifications on escalation ------------------------------------------------------------------------
def escalation_deps(notifier):
    from incident_commander.config import EscalationConfig, EscalationLevel
    from incident_commander.models.events import IncidentOpened, NewEvent
    from incident_commander.runtime import Deps
    from incident_commander.store.memory import InMemoryEventStore
    from incident_commander.topology import Topology

    class Control:
        tokens: dict = {}

        def put_task_token(self, incident_id, token, level, name):
            self.tokens[incident_id] = token

    at = datetime(2026, 1, 1, tzinfo=UTC)
    store = InMemoryEventStore()
    store.append("i1", 0, [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(
        scope="s", title="Orders DB down", severity="critical", first_alert_at=at), at, "t")])
    settings = Settings(escalation=EscalationConfig(levels=[EscalationLevel(
        name="primary", contacts=["slack:oncall", "pagerduty:db", "alice"], timeout_seconds=60)]))
    return Deps(settings=settings, events=store, topology=lambda: Topology(), control=Control(), clock=lambda: at,
                extras={"notifier": notifier})


def test_escalation_records_each_delivery_and_a_failing_channel_never_blocks_it():
    from incident_commander.workflow import steps

    slack, pd = Sender([DeliveryError(503, "unavailable", True)]), Sender()
    r, _ = res()
    n = Notifier({"slack": slack, "pagerduty": pd}, lambda: {"slack": {"oncall": "https://hooks"},
                                                             "pagerduty": {"db": "key"}}, r)
    deps = escalation_deps(n)
    out = steps.notify_escalation(deps, "i1", 0, "tok", "exec-1")
    assert out["delivered"] == ["pagerduty:db"] and deps.control.tokens["i1"] == "tok"
    sent = [e for e in deps.events.read("i1") if e.type == EventType.ESCALATION_SENT]
    d = sent[0].current_data()["deliveries"]
    assert [(x["contact"], x["delivered"]) for x in d] == [("slack:oncall", False), ("pagerduty:db", True),
                                                          ("alice", False)]
    assert "503" in d[0]["detail"] and "dashboard" in d[2]["detail"]
    steps.notify_escalation(deps, "i1", 0, "tok", "exec-1")  # a Retry of the task: nobody is notified twice
    assert pd.sent == [("db", "key", "i1")] and len([e for e in deps.events.read("i1") if e.type == EventType.ESCALATION_SENT]) == 1


def test_unreadable_credentials_are_recorded_not_raised():
    from incident_commander.adapters.secrets import SecretUnavailable
    from incident_commander.workflow import steps

    def creds():
        raise SecretUnavailable("secret ic-x-notify-credentials: AccessDeniedException")

    r, _ = res()
    deps = escalation_deps(Notifier({"slack": Sender(), "pagerduty": Sender()}, creds, r))
    steps.notify_escalation(deps, "i1", 0, "tok", "exec-2")
    sent = next(e for e in deps.events.read("i1") if e.type == EventType.ESCALATION_SENT)
    assert "AccessDeniedException" in sent.current_data()["deliveries"][0]["detail"]
