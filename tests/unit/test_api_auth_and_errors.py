"""The API on in-memory fakes: roles from Cognito groups / IAM / local mode, validation errors that name
the field, who did what recorded in the timeline, the generated OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from incident_commander.api.app import build_app
from incident_commander.api.roles import AuthConfig, groups_of
from incident_commander.config import Settings
from incident_commander.models.events import (
    AlertRef,
    AlertsAttached,
    EscalationSent,
    EventType,
    GroupingReason,
    IncidentOpened,
    NewEvent,
)
from incident_commander.runtime import Deps
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOPO = Topology.parse_yaml("services:\n  api: {tier: critical, revenue_per_minute: 100, users: 10}\n")


class FakeControl:
    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.topology: str | None = None

    def get_task_token(self, incident_id: str):
        return self.tokens.get(incident_id)

    def take_task_token(self, incident_id: str, token: str) -> None:
        from incident_commander.adapters.control import TokenConflict

        if self.tokens.get(incident_id, {}).get("token") != token:
            raise TokenConflict("already answered")
        del self.tokens[incident_id]

    def get_topology_yaml(self):
        return self.topology

    def put_topology_yaml(self, text: str) -> None:
        self.topology = text


class FakeWorkflow:
    def __init__(self) -> None:
        self.answers: list[tuple[str, Any]] = []

    def send_success(self, token: str, output: dict[str, Any]) -> None:
        self.answers.append(("success", output))

    def send_failure(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("failure", cause))


@pytest.fixture()
def world():
    store = InMemoryEventStore()
    alert = AlertRef(key="k1", source="alertmanager", name="HighErrorRate", service="api", status="firing",
                     severity="critical", starts_at=NOW, received_at=NOW, reason=GroupingReason(rule="opened"))
    store.append("inc-1", 0, [
        NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="errors on api", severity="critical",
                                                              first_alert_at=NOW), NOW, "detection"),
        NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=[alert], deliveries=1), NOW, "detection"),
        NewEvent.of(EventType.ESCALATION_SENT, EscalationSent(level=0, level_name="primary", contacts=["a"],
                                                              timeout_seconds=900), NOW, "escalation")])
    control, workflow = FakeControl(), FakeWorkflow()
    control.tokens["inc-1"] = {"token": "tok", "level": 0, "level_name": "primary", "issued_at": "t"}
    deps = Deps(settings=Settings(), events=store, topology=lambda: TOPO, control=control, workflow=workflow,
                clock=lambda: NOW + timedelta(minutes=10))
    return deps


def call(deps: Deps, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
         headers: dict[str, str] | None = None, claims: dict[str, str] | None = None, user_arn: str | None = None,
         mode: str = "aws") -> tuple[int, Any, dict[str, Any]]:
    app = build_app(lambda: deps, auth=AuthConfig(mode=mode))
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    event = {"resource": path, "path": path, "httpMethod": method, "headers": headers or {},
             "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
             "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in query.items()}
             if query else None, "pathParameters": None, "body": raw, "isBase64Encoded": False,
             "requestContext": {"path": path, "stage": "prod", "httpMethod": method, "resourcePath": path,
                                "requestId": "r-1", "identity": {"userArn": user_arn, "sourceIp": "10.0.0.1"},
                                **({"authorizer": {"claims": claims}} if claims else {})}}
    result = app.resolve(event, None)
    return result["statusCode"], json.loads(result["body"] or "null"), result.get("multiValueHeaders") or {}


def responder(email: str = "rita@example.com", groups: str = "responder") -> dict[str, str]:
    return {"email": email, "cognito:groups": groups, "token_use": "id"}


@pytest.mark.parametrize("raw, groups", [("responder", ["responder"]), ("viewer,admin", ["viewer", "admin"]),
                                         ("[viewer admin]", ["viewer", "admin"]), ("", [])])
def test_cognito_groups_in_every_shape_api_gateway_sends(raw, groups):
    assert groups_of({"cognito:groups": raw}) == groups


def test_nobody_is_401_with_a_challenge_and_reads_need_a_role(world):
    status, body, headers = call(world, "GET", "/incidents")
    assert status == 401 and "not authenticated" in body["error"] and "WWW-Authenticate" in headers
    status, body, _ = call(world, "GET", "/incidents", claims=responder(groups="contractors"))
    assert status == 403 and "no group" in body["error"]
    status, body, _ = call(world, "GET", "/incidents", claims=responder(groups="viewer"))
    assert status == 200 and body["incidents"][0]["id"] == "inc-1"


def test_a_viewer_cannot_answer_an_escalation_and_nothing_changes(world):
    status, body, _ = call(world, "POST", "/incidents/inc-1/decision", {"decision": "approve"},
                           claims=responder(groups="viewer"))
    assert status == 403 and "needs the responder role" in body["error"]
    assert world.control.tokens and not world.workflow.answers


def test_a_responder_answers_and_the_timeline_records_who(world):
    status, body, _ = call(world, "POST", "/incidents/inc-1/decision", {"decision": "approve", "reason": "go"},
                           claims=responder())
    assert status == 202 and body["by"] == "rita@example.com"
    assert world.workflow.answers == [("success", {"response": "approve", "by": "rita@example.com",
                                                   "reason": "go", "level": 1})]
    last = world.events.read("inc-1")[-1]
    assert last.type == EventType.HUMAN_APPROVED and last.actor == "human:rita@example.com"
    again, body, _ = call(world, "POST", "/incidents/inc-1/decision", {"decision": "reject"}, claims=responder())
    assert again == 409 and "no escalation waiting" in body["error"]


def test_machines_sign_with_sigv4_and_get_the_configured_role(world):
    arn = "arn:aws:sts::123456789012:assumed-role/chatops-bot/session"
    status, body, _ = call(world, "GET", "/me", user_arn=arn)
    assert status == 200 and body == {"name": arn, "role": "responder", "via": "iam", "auth_mode": "aws",
                                      "may": ["viewer", "responder"]}


def test_local_mode_trusts_the_caller_who_may_lower_their_role(world):
    status, body, _ = call(world, "GET", "/me", headers={"X-IC-User": "alice"}, mode="local")
    assert status == 200 and body["name"] == "alice" and body["role"] == "admin" and body["via"] == "local"
    status, body, _ = call(world, "POST", "/incidents/inc-1/decision", {"decision": "approve"},
                           headers={"X-IC-User": "alice", "X-IC-Role": "viewer"}, mode="local")
    assert status == 403
    status, body, _ = call(world, "GET", "/me", headers={"X-IC-Role": "root"}, mode="local")
    assert status == 400 and "X-IC-Role" in body["error"]


@pytest.mark.parametrize("path, query, body, field, needle", [
    ("/incidents", {"limit": "ten"}, None, "limit", "valid integer"),
    ("/incidents", {"limit": "0"}, None, "limit", "greater than or equal to 1"),
    ("/incidents", {"status": "on-fire"}, None, "status", "'open'"),
    ("/incidents", {"severity": "P0"}, None, "severity", "critical"),
    ("/incidents", {"since": "yesterday"}, None, "since", "datetime"),
    ("/incidents", {"since": "2026-01-01T00:00:00"}, None, "since", "time zone"),
    ("/incidents", {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, None, "since", "before until"),
    ("/incidents", {"cursor": "not-a-cursor"}, None, "cursor", "not a cursor this API returned"),
    ("/incidents/inc-1/decision", None, {"decision": "maybe"}, "decision", "'approve'"),
    ("/incidents/inc-1/decision", None, {"reason": "x"}, "decision", "required"),
    ("/incidents/inc-1/decision", None, {"decision": "approve", "reason": "x" * 2001}, "reason", "2000"),
    ("/incidents/inc-1/decision", None, "{nope", "body", "not valid JSON"),
])
def test_bad_input_is_a_400_naming_the_field(world, path, query, body, field, needle):
    method = "GET" if body is None else "POST"
    status, reply, _ = call(world, method, path, body, query=query, claims=responder())
    assert status == 400, reply
    assert reply["field"] == field and needle in reply["error"], reply
    assert world.control.tokens  # nothing answered


def test_oversized_bodies_are_413_before_anything_parses_them(world):
    status, reply, _ = call(world, "POST", "/incidents/inc-1/decision", "x" * 1_000_001, claims=responder())
    assert status == 413 and "larger than" in reply["error"]


def test_pagination_cursor_round_trips_and_filters_apply(world):
    for i in range(3):
        world.events.append(f"inc-{i + 2}", 0, [NewEvent.of(
            EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title=f"t{i}", severity="low", first_alert_at=NOW),
            NOW + timedelta(minutes=i + 1), "detection")])
    seen, cursor = [], None
    while True:
        status, page, _ = call(world, "GET", "/incidents", query={"limit": "2", **({"cursor": cursor} if cursor else {})},
                               claims=responder())
        assert status == 200
        seen += [i["id"] for i in page["incidents"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["inc-1", "inc-2", "inc-3", "inc-4"] and len(seen) == 4
    _, low, _ = call(world, "GET", "/incidents", query={"severity": "low"}, claims=responder())
    assert {i["id"] for i in low["incidents"]} == {"inc-2", "inc-3", "inc-4"}
    _, later, _ = call(world, "GET", "/incidents", query={"since": "2026-05-01T12:02:00Z"}, claims=responder())
    assert {i["id"] for i in later["incidents"]} == {"inc-3", "inc-4"}


def test_detail_shows_mttr_cost_and_where_the_pipeline_stands(world):
    status, inc, _ = call(world, "GET", "/incidents/inc-1", claims=responder())
    assert status == 200
    assert inc["mttr_seconds"] == 600 and inc["cost_so_far"] == pytest.approx(10 * inc["cost_per_minute"])
    assert inc["cost_per_minute"] == 60.0  # 100/min x errors 0.6 x critical
    assert inc["alerts_detail"][0]["grouped_because"]["rule"] == "opened"
    assert [(s["stage"], s["state"]) for s in inc["pipeline"]] == [
        ("detection", "active"), ("diagnosis", "pending"), ("consensus", "pending"), ("decision", "active")]


def test_openapi_is_generated_from_the_routes_and_says_400_not_422(world):
    status, spec, _ = call(world, "GET", "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.1")
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    for op in [("GET", "/incidents"), ("GET", "/incidents/{incident_id}"), ("GET", "/incidents/{incident_id}/timeline"),
               ("POST", "/incidents/{incident_id}/decision"), ("GET", "/health"), ("POST", "/scenarios/{name}"),
               ("POST", "/alerts/{source}"), ("GET", "/me")]:
        assert op in ops, op
    text = json.dumps(spec)
    assert '"422"' not in text and "HTTPValidationError" not in text
    decision = spec["paths"]["/incidents/{incident_id}/decision"]["post"]
    assert {"202", "400", "401", "403", "404", "409"} <= set(decision["responses"])
    assert decision["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("DecisionRequest")
    assert set(spec["components"]["securitySchemes"]) == {"cognito", "sigv4"}


def test_scenarios_are_admin_only_and_off_in_prod(world, monkeypatch):
    status, body, _ = call(world, "POST", "/scenarios/memory-leak", claims=responder())
    assert status == 403 and "admin" in body["error"]
    monkeypatch.setenv("IC_STAGE", "prod")
    monkeypatch.delenv("IC_SCENARIOS_ENABLED", raising=False)
    status, body, _ = call(world, "POST", "/scenarios/memory-leak", claims=responder(groups="admin"))
    assert status == 403 and "IC_SCENARIOS_ENABLED" in body["error"]
    monkeypatch.setenv("IC_SCENARIOS_ENABLED", "true")
    status, body, _ = call(world, "POST", "/scenarios/no-such-thing", claims=responder(groups="admin"))
    assert status == 404 and "database-cascade" in body["error"]


def test_health_reports_plugged_components_and_fails_only_on_errors(world, monkeypatch):
    for var in ("IC_EVENTS_TABLE", "IC_INCIDENTS_TABLE", "IC_CONTROL_TABLE", "IC_DETECTION_TABLE",
                "IC_IDEMPOTENCY_TABLE", "IC_ALERT_STREAM", "IC_STATE_MACHINE_ARN"):
        monkeypatch.delenv(var, raising=False)

    class Router:  # a plain report, like resilience.routing.ModelRouter.health()
        def health(self):
            return {"task": "diagnosis", "models": [{"model": "m1", "circuit": "open"}]}

    class Breakers:
        def health(self):
            return {"status": "degraded", "detail": {"slack": "open"}}

    world.extras.update(model_router=Router(), breakers=Breakers())
    status, report, _ = call(world, "GET", "/health", claims=responder(groups="viewer"))
    c = report["components"]
    assert status == 200 and report["status"] == "degraded"
    assert c["bedrock_routing"] == {"status": "ok", "detail": {"task": "diagnosis",
                                                               "models": [{"model": "m1", "circuit": "open"}]}}
    assert c["circuit_breakers"]["status"] == "degraded" and c["memory"]["status"] == "not_configured"
    assert c["topology"]["status"] == "ok" and c["tables"]["status"] == "not_configured"

    class Broken:
        def health(self):
            raise TimeoutError("memory index unreachable")

    world.extras["memory"] = Broken()
    status, report, _ = call(world, "GET", "/health", claims=responder(groups="viewer"))
    assert status == 503 and "memory index unreachable" in report["components"]["memory"]["detail"]["error"]
