"""Webhook authentication for `POST /alerts/{source}`, the way each sending tool can authenticate.

The credentials are one Secrets Manager secret (`IC_WEBHOOK_SECRET`), a JSON object by source:

    {"alertmanager": "<token>", "grafana": ["<token>", "<next token>"], "datadog": "...",
     "opsgenie": "...", "cloudwatch": "...", "sns": "...",
     "pagerduty": {"signing_secrets": ["<webhook secret>"], "routing_keys": ["<integration key>"]}}

- Alertmanager (`http_config.authorization`), Grafana (contact point authorization header),
  Datadog (custom headers), CloudWatch/SNS senders: `Authorization: Bearer <token>`; `Basic` (the
  password is the token: SNS subscriptions and Grafana basic auth) is accepted too.
- Opsgenie: `Authorization: GenieKey <token>` (the scheme Opsgenie's Alert API uses) or Bearer.
- PagerDuty: V3 webhooks carry `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>` (several
  during a rotation); an Events API v2 sender authenticates with its `routing_key` instead, as it
  does with PagerDuty. A plain string under "pagerduty" is a signing secret.

A list allows rotation: add the new token, update the sender, remove the old one. Every comparison
is constant-time and runs over all configured values. No credential: 401. A wrong one, or a source
with nothing configured: 403 (fail closed). In local auth mode (`IC_AUTH_MODE=local`, the embedded
local stack) webhooks are not authenticated, like the rest of the local API (the local stack still
creates the secret in moto, so `IC_AUTH_MODE=aws` can be tried against it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from ..adapters.secrets import SecretUnavailable

BEARER_SCHEMES = {"bearer"}
SCHEMES_BY_SOURCE = {"opsgenie": {"bearer", "geniekey"}}


class WebhookAuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _as_list(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise WebhookAuthError(503, f"webhook credentials: {where} must be a non-empty string or a list of them")
    return values


def _equals_any(candidate: str, secrets: list[str]) -> bool:
    """Constant-time: compares against every configured value, whatever matches first."""
    got = candidate.encode()
    matches = [hmac.compare_digest(got, s.encode()) for s in secrets]
    return any(matches)


def presented_credential(headers: Mapping[str, str], source: str) -> str | None:
    """The token in the Authorization header, for the schemes this source's senders use."""
    raw = headers.get("authorization")
    if not raw:
        return None
    scheme, _, value = raw.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return value if scheme in SCHEMES_BY_SOURCE.get(source, BEARER_SCHEMES) else ""


def pagerduty_signatures(headers: Mapping[str, str]) -> list[str]:
    raw = headers.get("x-pagerduty-signature") or ""
    return [part.strip()[3:] for part in raw.split(",") if part.strip().startswith("v1=")]


class WebhookAuthenticator:
    def __init__(self, credentials: Callable[[], dict[str, Any]] | None, local_mode: bool = False):
        """`credentials` reads the secret (adapters.secrets.JsonSecret.get); None when none is configured
        (every webhook is then refused, unless in local mode)."""
        self._credentials = credentials
        self.local_mode = local_mode

    @property
    def enforced(self) -> bool:
        return not self.local_mode

    def check(self, source: str, headers: Mapping[str, str], raw_body: bytes, body: Any) -> str:
        """How the request authenticated ("token", "signature", "routing_key", "local"); raises
        WebhookAuthError (401, 403, or 503 when the credentials cannot be read)."""
        if not self.enforced:
            return "local"
        if self._credentials is None:
            raise WebhookAuthError(403, "webhook authentication is not configured (IC_WEBHOOK_SECRET): "
                                        "alerts are refused")
        try:
            creds = self._credentials()
        except SecretUnavailable as exc:
            raise WebhookAuthError(503, f"webhook credentials unavailable, retry later ({exc})") from exc
        headers = {k.lower(): v for k, v in headers.items()}
        if source == "pagerduty":
            return self._pagerduty(creds.get("pagerduty"), headers, raw_body, body)
        configured = creds.get(source)
        if configured is None:
            raise WebhookAuthError(403, f"no webhook token is configured for {source}: its alerts are refused")
        tokens = _as_list(configured, source)
        presented = presented_credential(headers, source)
        if presented is None:
            raise WebhookAuthError(401, f"{source} webhooks need an Authorization header with the source's token")
        if not presented or not _equals_any(presented, tokens):
            raise WebhookAuthError(403, f"the token does not match the one configured for {source}")
        return "token"

    @staticmethod
    def _pagerduty(configured: Any, headers: Mapping[str, str], raw_body: bytes, body: Any) -> str:
        if configured is None:
            raise WebhookAuthError(403, "no webhook credentials are configured for pagerduty: its alerts are refused")
        if isinstance(configured, str):
            configured = {"signing_secrets": [configured]}
        if not isinstance(configured, dict):
            raise WebhookAuthError(503, "webhook credentials: pagerduty must be a string or an object")
        secrets = _as_list(configured["signing_secrets"], "pagerduty.signing_secrets") \
            if configured.get("signing_secrets") else []
        keys = _as_list(configured["routing_keys"], "pagerduty.routing_keys") if configured.get("routing_keys") else []
        signatures = pagerduty_signatures(headers)
        if signatures:
            expected = [hmac.new(s.encode(), raw_body, hashlib.sha256).hexdigest() for s in secrets]
            matches = [_equals_any(sig, expected) for sig in signatures] if expected else []
            if any(matches):
                return "signature"
            raise WebhookAuthError(403, "X-PagerDuty-Signature does not match the body")
        routing = body.get("routing_key") if isinstance(body, dict) else None
        if isinstance(routing, str) and routing:
            if keys and _equals_any(routing, keys):
                return "routing_key"
            raise WebhookAuthError(403, "the routing_key is not one configured for pagerduty")
        raise WebhookAuthError(401, "pagerduty webhooks need an X-PagerDuty-Signature header (or an Events API "
                                    "routing_key)")
