"""POST /alerts/{source}: webhook ingestion."""

from __future__ import annotations

from datetime import UTC, datetime

from ... import names as n
from ...ingest import UnknownSourceError
from ..context import ApiContext, json_response
from ..ingest import accept


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.post("/alerts/<source>")
    def post_alerts(source: str):
        if source not in n.SOURCES:
            raise UnknownSourceError(source)
        epoch_ms = app.current_event.request_context.request_time_epoch
        received = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC) if epoch_ms else ctx.now()
        d = ctx.deps()
        return json_response(202, accept(source, ctx.body(), received, d.extras["stream_writer"], d.topology()))
