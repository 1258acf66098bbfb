"""Routes of the REST API. Every handler is a few lines over the domain; errors are JSON with a reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .. import names as n
from ..adapters.control import TokenConflict
from ..ingest import PayloadError, UnknownSourceError
from ..models.events import EventType, HumanResponse, NewEvent
from ..runtime import Deps
from ..store.integrity import verify_chain
from ..store.port import append_with_retry
from . import views
from .ingest import MAX_BODY_BYTES, accept


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str))


def build_app(deps: Callable[[], Deps]) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    def now() -> datetime:
        return deps().clock()

    def body() -> Any:
        raw = app.current_event.body or ""
        if len(raw.encode()) > MAX_BODY_BYTES:
            raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc

    def actor() -> str:
        ctx = app.current_event.request_context
        claims = (ctx.authorizer.claims or {}) if ctx.authorizer else {}
        return (claims.get("email") or claims.get("cognito:username") or ctx.identity.user_arn
                or app.current_event.headers.get("x-ic-user") or "anonymous")

    def incident(incident_id: str):
        s = deps().events.get_state(incident_id)
        if s is None or incident_id.startswith(n.IDEMPOTENCY_PREFIX):
            raise ApiError(404, f"incident {incident_id} not found")
        return s

    @app.exception_handler(ApiError)
    def _api_error(e: ApiError) -> Response:
        return _json(e.status, {"error": e.message, **e.extra})

    @app.exception_handler(PayloadError)
    def _payload_error(e: PayloadError) -> Response:
        return _json(400, {"error": str(e), "field": e.field})

    @app.exception_handler(UnknownSourceError)
    def _unknown_source(e: UnknownSourceError) -> Response:
        return _json(404, {"error": str(e), "sources": list(n.SOURCES)})

    @app.not_found
    def _not_found(e: NotFoundError) -> Response:
        return _json(404, {"error": f"no route {app.current_event.http_method} {app.current_event.path}"})

    # --- ingestion -------------------------------------------------------------------------------
    @app.post("/alerts/<source>")
    def post_alerts(source: str):
        if source not in n.SOURCES:
            raise UnknownSourceError(source)
        epoch_ms = app.current_event.request_context.request_time_epoch
        received = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC) if epoch_ms else now()
        d = deps()
        return _json(202, accept(source, body(), received, d.extras["stream_writer"], d.topology()))

    # --- incidents -------------------------------------------------------------------------------
    @app.get("/incidents")
    def list_incidents():
        q = app.current_event.query_string_parameters or {}
        try:
            limit = max(1, min(100, int(q.get("limit", 25))))
        except ValueError as exc:
            raise ApiError(400, "limit: expected an integer") from exc
        status, service, severity = q.get("status"), q.get("service"), q.get("severity")

        def keep(s) -> bool:
            return ((not status or s.status.value == status) and (not service or service in s.services)
                    and (not severity or s.severity == severity))

        try:
            page = deps().events.list_states(limit=limit, cursor=q.get("cursor"), predicate=keep)
        except (ValueError, KeyError) as exc:
            raise ApiError(400, "cursor: not a cursor this API returned") from exc
        topo, t = deps().topology(), now()
        return _json(200, {"incidents": [views.summary(s, topo, t) for s in page.items], "cursor": page.cursor})

    @app.get("/incidents/<incident_id>")
    def get_incident(incident_id: str):
        return _json(200, views.detail(incident(incident_id), deps().topology(), now()))

    @app.get("/incidents/<incident_id>/timeline")
    def get_timeline(incident_id: str):
        s = incident(incident_id)
        store = deps().events
        items = store.read_items(incident_id)
        result = verify_chain(incident_id, items, expected_head=s.last_hash, expected_version=s.version)
        return _json(200, {"incident_id": incident_id, **views.timeline(store.read(incident_id), result)})

    @app.get("/incidents/<incident_id>/verify")
    def verify(incident_id: str):
        s = incident(incident_id)
        items = deps().events.read_items(incident_id)
        result = verify_chain(incident_id, items, expected_head=s.last_hash, expected_version=s.version)
        return _json(200 if result.ok else 409, result.model_dump())

    @app.post("/incidents/<incident_id>/decision")
    def post_decision(incident_id: str):
        s = incident(incident_id)
        b = body()
        if not isinstance(b, dict):
            raise ApiError(400, "body: expected a JSON object with 'decision'")
        choice = b.get("decision")
        if choice not in ("approve", "reject", "reassign"):
            raise ApiError(400, "decision: expected 'approve', 'reject' or 'reassign'")
        reason = b.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 2000:
            raise ApiError(400, "reason: expected a string of at most 2000 characters")
        d = deps()
        pending = d.control.get_task_token(incident_id)
        if pending is None:
            raise ApiError(409, f"incident {incident_id} has no escalation waiting for an answer",
                           incident_status=s.status.value)
        level = int(pending["level"])
        next_level = b.get("level", level + 1)
        if choice == "reassign" and (not isinstance(next_level, int) or next_level < 0):
            raise ApiError(400, "level: expected a non-negative integer")
        who = actor()
        try:
            d.control.take_task_token(incident_id, pending["token"])
        except TokenConflict as exc:
            raise ApiError(409, str(exc)) from exc
        from ..adapters.stepfunctions import InvalidTaskToken

        try:
            if choice == "reject":
                d.workflow.send_failure(pending["token"], "Rejected", f"{who}: {reason}")
            else:
                d.workflow.send_success(pending["token"], {"response": choice, "by": who, "reason": reason,
                                                           "level": next_level})
        except InvalidTaskToken as exc:
            raise ApiError(409, "the escalation is no longer waiting (timed out or answered)",
                           detail=str(exc)[:300]) from exc
        event_type = {"approve": EventType.HUMAN_APPROVED, "reject": EventType.HUMAN_REJECTED,
                      "reassign": EventType.HUMAN_REASSIGNED}[choice]
        data = HumanResponse(by=who, reason=reason, reassign_to=str(next_level) if choice == "reassign" else None)
        append_with_retry(d.events, incident_id, lambda _s: [NewEvent.of(
            event_type, data, now(), f"human:{who}", f"human/{pending['issued_at']}/{level}")])
        return _json(202, {"incident_id": incident_id, "decision": choice, "by": who, "level": level})

    # --- health ------------------------------------------------------------------------------------
    @app.get("/health")
    def health():
        d = deps()
        components: dict[str, Any] = {}
        for name, probe in {"event_store": lambda: d.events.list_states(limit=1),
                            "state_machine": lambda: d.workflow.describe(),
                            "topology": lambda: len(d.topology().services)}.items():
            try:
                value = probe()
                components[name] = {"status": "ok", **({"services": value} if isinstance(value, int) else {})}
            except Exception as exc:  # noqa: BLE001 - health reports any failure as the component's status
                components[name] = {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        ok = all(c["status"] == "ok" for c in components.values())
        return _json(200 if ok else 503, {"status": "ok" if ok else "degraded", "components": components})

    return app
