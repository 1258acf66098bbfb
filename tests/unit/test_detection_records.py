"""The packed stream record: the index decodes alone, every alert decodes from its own slice."""

from __future__ import annotations

import base64
import json
import zlib
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


def plain(data: bytes) -> bytes:
    """The same record in the uncompressed layout earlier versions put on the stream."""
    size = int.from_bytes(data[3:6], "big")
    header = zlib.decompress(data[6:6 + size])
    return records.MAGIC_PLAIN + len(header).to_bytes(3, "big") + header + zlib.decompress(data[6 + size:])


def test_records_put_on_the_stream_are_compressed_and_records_of_earlier_versions_still_decode():
    alerts = [a.model_copy(update={"key": f"k{i}", "labels": {**a.labels, "pod": f"pod-{i}"}}) for i in range(50)
              for a in parse("alertmanager", load_event("alertmanager_firing.json"), NOW)[:1]]
    (data, _), = records.encode(alerts, lambda a: "s")
    old = plain(data)
    assert data.startswith(records.MAGIC) and len(data) * 8 < len(old)  # Kinesis bills bytes
    for layout in (data, old):
        packed = records.decode(b64(layout))
        assert [Alert.model_validate(packed.alert(*e[3:])) for e in packed.header["alerts"]] == alerts


def test_a_compressed_part_that_is_damaged_or_inflates_too_far_is_named(monkeypatch):
    alerts = parse("alertmanager", load_event("alertmanager_firing.json"), NOW)
    (data, _), = records.encode(alerts, lambda a: "s")
    entry = records.decode(b64(data)).header["alerts"][0]
    with pytest.raises(records.RecordError, match="alerts: truncated"):
        records.decode(b64(data[:-10])).alert(*entry[3:])
    with pytest.raises(records.RecordError, match="alerts: not zlib"):
        body = 6 + int.from_bytes(data[3:6], "big")
        records.decode(b64(data[:body] + b"\xff\xff" + data[body + 2:])).alert(*entry[3:])
    with pytest.raises(records.RecordError, match="header: not zlib"):
        records.decode(b64(data[:6] + b"{}" + data[8:]))
    monkeypatch.setattr(records, "MAX_INFLATED", 100)
    with pytest.raises(records.RecordError, match="header: inflates past 100 bytes"):
        records.decode(b64(data))


def test_offsets_land_anywhere_in_a_base64_group():
    """Uncompressed records decode each alert from its own base64 groups."""
    alerts = [a.model_copy(update={"key": f"k{i}", "title": "x" * (i * 5 % 7)}) for i in range(20)
              for a in parse("alertmanager", load_event("alertmanager_firing.json"), NOW)[:1]]
    (data, _), = records.encode(alerts, lambda a: "s")
    packed = records.decode(b64(plain(data)))
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
        records.decode(b64(records.MAGIC_PLAIN + (5).to_bytes(3, "big") + b"{oops"))
    with pytest.raises(records.RecordError, match="header: not JSON"):
        records.decode(b64(records.MAGIC + (13).to_bytes(3, "big") + zlib.compress(b"{oops")))
