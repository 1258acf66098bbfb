"""The REST API resolver: error mapping plus one route module per area (`routes/`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .. import names as n
from ..ingest import PayloadError, UnknownSourceError
from ..runtime import Deps
from .context import ApiContext, ApiError, json_response
from .routes import alerts, decisions, health, incidents

ROUTE_MODULES = (alerts, incidents, decisions, health)
log = logging.getLogger(__name__)


def build_app(deps: Callable[[], Deps]) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    ctx = ApiContext(app=app, deps=deps)

    @app.exception_handler(ApiError)
    def _api_error(e: ApiError) -> Response:
        return json_response(e.status, {"error": e.message, **e.extra})

    @app.exception_handler(PayloadError)
    def _payload_error(e: PayloadError) -> Response:
        return json_response(400, {"error": str(e), "field": e.field})

    @app.exception_handler(UnknownSourceError)
    def _unknown_source(e: UnknownSourceError) -> Response:
        return json_response(404, {"error": str(e), "sources": list(n.SOURCES)})

    @app.not_found
    def _not_found(e: NotFoundError) -> Response:
        return json_response(404, {"error": f"no route {app.current_event.http_method} {app.current_event.path}"})

    for module in ROUTE_MODULES:
        module.register(ctx)
    return app
