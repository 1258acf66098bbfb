"""The packed stream record: the index decodes alone, every alert decodes from its own slice."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from incident_commander.detection import records
from incident_commander.ingest import parse
from incident_commander.models import Alert

from tests.conftest import load_event

NOW = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("source, fixture", [("alertmanager", "alertmanager_firing.json"),
                                             ("grafana", "grafana_firing.json"),
                                             ("pagerduty", "pagerduty_trigger.json")])
def test_every_alert_round_trips_from_its_own_slice(source, fixture):
    alerts = parse(source, load_event(fixture), NOW)
    (data, key), = records.encode(alerts, lambda a: "scope-1")
    packed = records.decode(b64(data))
    assert key == "scope-1" and packed.header["source"] == source and packed.header["scope"] == "scope-1"
    for entry, alert in zip(packed.header["alerts"], alerts, strict=True):
        assert entry[:3] == [alert.key, alert.status.value, alert.starts_at.isoformat() if alert.starts_at else None]
        assert Alert.model_validate(packed.alert(*entry[3:])) == alert  # raw payload included


def test_offsets_land_anywhere_in_a_base64_group():
    alerts = [a.model_copy(update={"key": f"k{i}", "title": "x" * (i * 5 % 7)}) for i in range(20)
              for a in parse("alertmanager", load_event("alertmanager_firing.json"), NOW)[:1]]
    (data, _), = records.encode(alerts, lambda a: "s")
    packed = records.decode(b64(data))
    assert {(packed._payload + e[3]) % 3 for e in packed.header["alerts"]} == {0, 1, 2}  # every alignment
    assert [packed.alert(*e[3:])["key"] for e in packed.header["alerts"]] == [f"k{i}" for i in range(20)]


def test_scopes_and_large_deliveries_split_into_records_within_the_kinesis_limit(monkeypatch):
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 3000)
    alerts = parse("alertmanager", load_event("alertmanager_firing.json"), NOW) * 5
    out = records.encode(alerts, lambda a: a.labels["alertname"])
    assert {k for _, k in out} == {"KubePodCrashLooping", "HighRequestErrorRate"} and len(out) > 2
    for data, _ in out:
        assert len(data) < 3000 + 600
        packed = records.decode(b64(data))
        assert all(packed.alert(*e[3:])["key"] == e[0] for e in packed.header["alerts"])


def test_plain_json_records_still_decode_and_garbage_is_named():
    assert records.decode(b64(json.dumps({"detail-type": "x"}).encode())) == {"detail-type": "x"}
    with pytest.raises(records.RecordError, match="not base64"):
        records.decode("@@@@")
    with pytest.raises(records.RecordError, match="neither"):
        records.decode(b64(b"plain text"))
    with pytest.raises(records.RecordError, match="header"):
        records.decode(b64(records.MAGIC + (5).to_bytes(3, "big") + b"{oops"))
