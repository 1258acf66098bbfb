"""REST API (API Gateway proxy): ingestion, incidents, timelines, decisions, health."""

import os

from aws_lambda_powertools import Logger
from incident_commander import names
from incident_commander.adapters.kinesis import AlertStreamWriter
from incident_commander.adapters.secrets import JsonSecret
from incident_commander.api.app import build_app
from incident_commander.api.auth import WebhookAuthenticator
from incident_commander.api.roles import AuthConfig
from incident_commander.resilience.runtime import Resilience
from incident_commander.runtime import Deps

logger = Logger()
_deps: Deps | None = None


def deps() -> Deps:
    global _deps
    if _deps is None:
        _deps = Deps.from_env()
        _deps.extras["stream_writer"] = AlertStreamWriter(os.environ[names.ENV_ALERT_STREAM])
        secret = os.environ.get(names.ENV_WEBHOOK_SECRET)
        _deps.extras["webhook_auth"] = WebhookAuthenticator(JsonSecret(secret).get if secret else None,
                                                            local_mode=AuthConfig.from_env().mode == "local")
        Resilience.from_deps(_deps)  # GET /health: circuits and model routing, shared by every function
    return _deps


app = build_app(deps)


@logger.inject_lambda_context
def handler(event, context):
    return app.resolve(event, context)
