"""The REST API resolver: validation from the routes' types, error mapping, one route module per area.

Every error is a JSON object whose `error` names the problem: bad input is a 400 naming the field
(never a 5xx), 401/403 come from `roles`, 413 for bodies over 1 MB. Each response carries a
`Server-Timing: app;dur=<ms>` header: the time spent in the handler.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from .. import names as n
from ..ingest import PayloadError, UnknownSourceError
from ..runtime import Deps
from .context import MAX_BODY_BYTES, ApiContext, ApiError, json_response
from .roles import AuthConfig, AuthError
from .routes import alerts, decisions, health, incidents, integrity, me, metrics, openapi, resolve, scenarios

ROUTE_MODULES = (alerts, incidents, decisions, resolve, metrics, integrity, health, me, scenarios, openapi)
CORS_HEADERS = ["Authorization", "Content-Type", "X-IC-User", "X-IC-Role", "X-Amz-Date", "X-Amz-Security-Token"]
log = logging.getLogger(__name__)


class Resolver(APIGatewayRestResolver):
    """Refuses oversized bodies before validation parses them, and times the handler."""

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        body = event.get("body") if isinstance(event, dict) else None
        if isinstance(body, str) and len(body) > MAX_BODY_BYTES:
            result = _proxy_error(413, f"body larger than {MAX_BODY_BYTES} bytes")
        else:
            result = super().resolve(event, context)
        timing = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        result.setdefault("multiValueHeaders", {})["Server-Timing"] = [timing]
        return result


def _proxy_error(status: int, message: str) -> dict[str, Any]:
    import json

    return {"statusCode": status, "body": json.dumps({"error": message}), "isBase64Encoded": False,
            "multiValueHeaders": {"Content-Type": ["application/json"]}}


def _field_of(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    if loc and loc[0] in ("query", "path", "header", "body"):
        where, loc = loc[0], loc[1:]
        return ".".join(loc) or where
    return ".".join(loc) or "body"


def validation_message(e: RequestValidationError) -> tuple[str, str]:
    """(field, message) for the first problem, in the same words as the ingestion errors."""
    err = e.errors()[0] if e.errors() else {}
    field = _field_of(err)
    if err.get("type") == "json_invalid":
        return "body", "body: not valid JSON"
    if err.get("type") == "missing":
        return field, f"{field}: required"
    return field, f"{field}: {err.get('msg', 'invalid')}"


def build_app(deps: Callable[[], Deps], auth: AuthConfig | None = None) -> APIGatewayRestResolver:
    origin = os.environ.get("IC_CORS_ORIGIN", "*")
    app = Resolver(enable_validation=True, cors=CORSConfig(allow_origin=origin, allow_headers=CORS_HEADERS))
    ctx = ApiContext(app=app, deps=deps, auth=auth)

    @app.exception_handler(ApiError)
    def _api_error(e: ApiError) -> Response:
        return json_response(e.status, {"error": e.message, **e.extra})

    @app.exception_handler(AuthError)
    def _auth_error(e: AuthError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="incident-commander"'} if e.status == 401 else None
        return json_response(e.status, {"error": e.message}, headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(e: RequestValidationError) -> Response:
        field, message = validation_message(e)
        return json_response(400, {"error": message, "field": field})

    @app.exception_handler(PayloadError)
    def _payload_error(e: PayloadError) -> Response:
        return json_response(400, {"error": str(e), "field": e.field})

    @app.exception_handler(UnknownSourceError)
    def _unknown_source(e: UnknownSourceError) -> Response:
        return json_response(404, {"error": str(e), "sources": list(n.SOURCES)})

    @app.exception_handler(ServiceError)
    def _service_error(e: ServiceError) -> Response:
        return json_response(e.status_code, {"error": e.msg})

    @app.exception_handler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unhandled error in the API")
        request_id = app.current_event.request_context.request_id
        return json_response(500, {"error": f"internal error ({type(e).__name__}); request {request_id}"})

    @app.not_found
    def _not_found(e: NotFoundError) -> Response:
        return json_response(404, {"error": f"no route {app.current_event.http_method} {app.current_event.path}"})

    for module in ROUTE_MODULES:
        module.register(ctx)
    return app
