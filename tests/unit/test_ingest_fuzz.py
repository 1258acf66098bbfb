"""Fuzzing the edges: no body a sender can post makes a parser raise anything but PayloadError, and no
stream record makes the detection handler raise (a bad record is a batch-item failure)."""

from __future__ import annotations

import base64
import copy
import json
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from incident_commander.detection.kinesis_batch import handle_batch
from incident_commander.ingest import PARSERS, PayloadError, parse
from incident_commander.models import Alert

from tests.conftest import load_event
from tests.unit.test_detection import engine

NOW = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
FIXTURES = [("alertmanager", "alertmanager_firing.json"), ("alertmanager", "alertmanager_resolved.json"),
            ("grafana", "grafana_firing.json"), ("cloudwatch", "cloudwatch_alarm_eventbridge.json"),
            ("cloudwatch", "cloudwatch_alarm_lambda_action.json"), ("sns", "sns_cloudwatch_alarm.json"),
            ("pagerduty", "pagerduty_trigger.json"), ("pagerduty", "pagerduty_resolve.json"),
            ("pagerduty", "pagerduty_change_event.json"), ("pagerduty", "pagerduty_v3_incident_triggered.json"),
            ("opsgenie", "opsgenie_create.json"), ("opsgenie", "opsgenie_close.json"),
            ("opsgenie", "opsgenie_webhook_acknowledge.json"), ("datadog", "datadog_triggered.json")]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
           | st.sampled_from(["", "firing", "resolved", "ALARM", "OK", "trigger", "resolve", "P1", "P9", "critical",
                              "$ALERT_ID", "0001-01-01T00:00:00Z", "2026-03-02T10:00:00+0000", "1772446320000"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20)


def _keys(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


KNOWN_KEYS = sorted({k for _, name in FIXTURES for k in _keys(load_event(name))})
shaped = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KNOWN_KEYS), inner, max_size=8), max_leaves=30)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def _check(source: str, body: Any) -> None:
    try:
        alerts = parse(source, body, NOW)
    except PayloadError as exc:
        assert exc.field and str(exc)
        return
    for a in alerts:
        assert isinstance(a, Alert)
        assert Alert.model_validate(json.loads(json.dumps(a.model_dump(mode="json")))).key == a.key


# IC_FUZZ_EXAMPLES=2000 for a long run; the default keeps the unit suite quick
EXAMPLES = int(os.environ.get("IC_FUZZ_EXAMPLES", "80"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STREAM = settings(max_examples=max(10, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(source=st.sampled_from(sorted(PARSERS)), body=json_values)
def test_arbitrary_json_is_parsed_or_refused_with_a_field(source, body):
    _check(source, body)


@FUZZ
@given(source=st.sampled_from(sorted(PARSERS)), body=shaped)
def test_json_with_the_formats_own_keys_is_parsed_or_refused_with_a_field(source, body):
    _check(source, body)


@FUZZ
@given(data=st.data())
def test_mutated_real_format_payloads_are_parsed_or_refused_with_a_field(data):
    source, name = data.draw(st.sampled_from(FIXTURES))
    body = copy.deepcopy(load_event(name))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(body)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    _check(source, body)


records = st.dictionaries(st.sampled_from(["kinesis", "eventID", "eventSource"]),
                          st.dictionaries(st.sampled_from(["data", "sequenceNumber", "partitionKey",
                                                           "approximateArrivalTimestamp"]), json_values, max_size=4)
                          | json_values, max_size=3)


def _record(doc: Any, seq: int) -> dict[str, Any]:
    return {"kinesis": {"sequenceNumber": str(seq), "partitionKey": "p",
                        "data": base64.b64encode(json.dumps(doc).encode()).decode()}, "eventID": f"shardId-0:{seq}"}


@STREAM
@given(raw=st.lists(records | json_values, max_size=4),
       docs=st.lists(st.dictionaries(st.sampled_from(["kind", "scope", "alerts", "detail-type", "time"]),
                                     json_values | st.just("alerts")
                                     | st.lists(st.dictionaries(st.sampled_from(
                                         ["source", "key", "status", "received_at", "starts_at", "name", "labels"]),
                                         json_values, max_size=7), max_size=3), max_size=5), max_size=3))
def test_no_stream_record_makes_the_detection_handler_raise(raw, docs):
    eng, _, _ = engine()
    event = {"Records": raw + [_record(d, 100 + i) for i, d in enumerate(docs)]}
    response, result = handle_batch(event, eng)
    assert set(response) == {"batchItemFailures"}
    assert len(response["batchItemFailures"]) == len(result.poison) <= len(event["Records"])


index_entries = st.lists(st.one_of(json_values, st.tuples(
    st.text(max_size=8) | json_values, st.sampled_from(["firing", "resolved", "acknowledged", "x"]) | json_values,
    st.none() | st.sampled_from(["2026-01-01T00:00:00Z", "soon"]) | json_values,
    st.integers(-5, 400) | json_values, st.integers(-5, 400) | json_values).map(list)), max_size=4)


@STREAM
@given(header=st.fixed_dictionaries({"scope": st.sampled_from(["cluster:a", ""]) | json_values,
                                     "source": st.sampled_from(["alertmanager", ""]) | json_values,
                                     "received_at": st.sampled_from(["2026-01-01T00:00:00Z", "never"]) | json_values,
                                     "alerts": index_entries | json_values}),
       payload=st.binary(max_size=300), good=st.booleans(), compressed=st.booleans())
def test_no_packed_record_makes_the_detection_handler_raise(header, payload, good, compressed):
    """Packed records (records.py) with a damaged index or payload: poison or noise, never a crash."""
    import zlib

    from incident_commander.detection import records

    if good:
        real = records.encode(parse("alertmanager", load_event("alertmanager_firing.json"), NOW), lambda a: a.scope)
        data = real[0][0][:len(real[0][0]) - len(payload)] + payload  # a real record with its tail damaged
    else:
        head = json.dumps(header, default=str).encode()
        head, body = (zlib.compress(head), zlib.compress(payload)) if compressed else (head, payload)
        data = (records.MAGIC if compressed else records.MAGIC_PLAIN) + len(head).to_bytes(3, "big") + head + body
    event = {"Records": [{"kinesis": {"sequenceNumber": "7", "partitionKey": "p",
                                      "data": base64.b64encode(data).decode()}, "eventID": "shardId-0:7"}]}
    eng, _, _ = engine()
    response, result = handle_batch(event, eng)
    assert len(response["batchItemFailures"]) == len(result.poison) <= 1
