"""HTTP senders for Slack incoming webhooks and the PagerDuty Events API v2 (stdlib urllib).

Retries are not done here: the notifier's breaker and rate limiter decide what happens next, and
429/5xx are reported as retryable so the breaker counts them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..notify.notifier import DeliveryError

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
TIMEOUT_SECONDS = 3.0


def _post(url: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:  # noqa: S310 - https URLs from config
            return resp.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace")
        raise DeliveryError(exc.code, detail or exc.reason, retryable=exc.code == 429 or exc.code >= 500) from exc


class SlackWebhookSender:
    def send(self, target: str, credential: str, message: dict[str, Any]) -> None:
        text = f"*{message['title']}* ({message['severity']})\n{message['summary']}\n{message.get('link', '')}".strip()
        _post(credential, {"text": text})


class PagerDutyEventsSender:
    def __init__(self, url: str = PAGERDUTY_EVENTS_URL):
        self.url = url

    def send(self, target: str, credential: str, message: dict[str, Any]) -> None:
        sev = {"critical": "critical", "high": "error", "medium": "warning"}.get(message["severity"], "info")
        _post(self.url, {"routing_key": credential, "event_action": "trigger", "dedup_key": message["incident_id"],
                         "payload": {"summary": f"{message['title']}: {message['summary']}"[:1024],
                                     "source": "incident-commander", "severity": sev,
                                     "custom_details": {"decision": message.get("reason", "")}},
                         "links": [{"href": message["link"], "text": "incident"}] if message.get("link") else []})
