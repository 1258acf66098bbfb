"""POST /alerts/{source}: webhook ingestion.

Order of checks, each refusing with nothing written: unknown source 404, body over 1 MB 413, the
sender's credentials 401/403 (`api/auth.py`), body not JSON 400, payload the source's parser
refuses 400 naming the field (too many alerts: `alerts`), stream not accepting 503 (the sender
retries; detection deduplicates what a partial write already delivered).

SNS HTTP(S) subscriptions: once authenticated, a SubscriptionConfirmation to `/alerts/sns` is
confirmed by visiting its SubscribeURL (checked to be SNS's own ConfirmSubscription for the message's
topic; 400 naming the field otherwise, 503 when SNS cannot be reached); an UnsubscribeConfirmation
is acknowledged. Neither puts anything on the stream.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ... import names as n
from ...adapters.kinesis import StreamWriteError
from ...ingest import UnknownSourceError
from ...ingest.cloudwatch import sns_control, subscribe_url
from ..auth import WebhookAuthenticator, WebhookAuthError
from ..context import MAX_BODY_BYTES, ApiContext, ApiError, json_response
from ..ingest import accept
from ..schemas import errors

_INVALID = object()


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.post("/alerts/<source>", summary="Ingest a webhook body from an alert source",
              description="Sources: " + ", ".join(n.SOURCES) + ". Authenticated per source (see api/auth.py).",
              responses={202: {"description": "Accepted: the alerts are on the stream"},
                         200: {"description": "sns only: a subscription confirmed, or an unsubscription noted"},
                         **errors(400, 401, 403, 404, 413),
                         503: {"description": "Credentials or the alert stream unavailable: retry"}})
    def post_alerts(source: str):
        if source not in n.SOURCES:
            raise UnknownSourceError(source)
        event = app.current_event
        text = event.decoded_body if event.is_base64_encoded else (event.body or "")
        raw = text.encode() if isinstance(text, str) else bytes(text or b"")
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            body: Any = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            body = _INVALID
        auth: WebhookAuthenticator = ctx.deps().extras.get("webhook_auth") or WebhookAuthenticator(
            None, local_mode=ctx.auth_config().mode == "local")  # nothing configured: refuse, unless local
        try:
            auth.check(source, dict(event.headers or {}), raw, None if body is _INVALID else body)
        except WebhookAuthError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="alerts"'} if exc.status == 401 else None
            return json_response(exc.status, {"error": exc.message}, headers)
        if body is _INVALID:
            raise ApiError(400, "body: not valid JSON")
        if source == "sns" and sns_control(body):
            return _sns_subscription(ctx, body)
        epoch_ms = event.request_context.request_time_epoch
        received = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC) if epoch_ms else ctx.now()
        d = ctx.deps()
        try:
            reply = accept(source, body, received, d.extras["stream_writer"], d.topology())
        except StreamWriteError as exc:
            raise ApiError(503, f"the alert stream did not accept the alerts ({exc}); retry") from exc
        return json_response(202, reply)


def _sns_subscription(ctx: ApiContext, body: dict[str, Any]) -> Any:
    from ...adapters.sns import ConfirmationFailed, visit_subscribe_url

    if body["Type"] == "UnsubscribeConfirmation":
        return json_response(200, {"subscription": "unsubscribed", "topic": str(body.get("TopicArn", ""))[:1024]})
    url, topic = subscribe_url(body)
    confirm = ctx.deps().extras.get("sns_confirm") or visit_subscribe_url
    try:
        confirm(url)
    except ConfirmationFailed as exc:
        raise ApiError(503, f"could not confirm the subscription to {topic} with SNS ({exc}); "
                            "request a new confirmation from the SNS console") from exc
    return json_response(200, {"subscription": "confirmed", "topic": topic})
