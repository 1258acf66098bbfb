"""Small builders of real-format payloads for tests (Alertmanager v4 webhook bodies)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from incident_commander.timeutil import iso

TOPOLOGY = """
services:
  web:
    tier: low
    revenue_per_minute: 100
    users: 1000
    depends_on: [api]
  api:
    tier: low
    revenue_per_minute: 50
    depends_on: [db]
    aliases: [api-service]
  db:
    tier: low
    depends_on: []
  billing:
    tier: low
    depends_on: [ledger]
  ledger:
    tier: low
    depends_on: []
"""


def am_alert(name: str, service: str, at: datetime, severity: str = "critical", status: str = "firing",
             description: str = "", cluster: str = "test", extra: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {"alertname": name, "service": service, "severity": severity, "cluster": cluster, **(extra or {})}
    fp = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    return {"status": status, "labels": labels, "annotations": {"description": description},
            "startsAt": iso(at - timedelta(seconds=5)),
            "endsAt": iso(at) if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090", "fingerprint": fp}


def am_body(*alerts: dict[str, Any]) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"receiver": "ic", "status": status, "alerts": list(alerts), "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093", "version": "4",
            "groupKey": "{}:{}", "truncatedAlerts": 0}


def play(player, deliveries: list[tuple[datetime, str, dict[str, Any]]], settle_after: float = 400) -> list[str]:
    """Deliver, then let recording time pass so incidents settle and their workflows run."""
    for at, source, body in deliveries:
        status, reply = player.deliver(source, body, at)
        assert status == 202, reply
    last = max(at for at, _, _ in deliveries)
    return player.flush(last, settle_after)
