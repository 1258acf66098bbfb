"""Through the real pipeline on the local stack: incidents the pipeline and the replay create verify,
humans resolve / reopen / acknowledge, the change stream puts every new event on the bus, metrics
come from the events, and retention archives to S3 before the TTL while the chain still verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from incident_commander import names as n
from incident_commander import wiring as w
from incident_commander.adapters.dynamodb import DynamoEventStore
from incident_commander.local.recording import load
from incident_commander.local.replay import run as replay_run
from incident_commander.timeutil import iso, parse_iso

from tests.helpers import TOPOLOGY, am_alert, am_body, play


@pytest.fixture(scope="module")
def store(local_stack) -> DynamoEventStore:
    return DynamoEventStore(local_stack.resolve(w.Ref("table", n.T_EVENTS)),
                            local_stack.resolve(w.Ref("table", n.T_INCIDENTS)))


@pytest.fixture(scope="module")
def bus_queue(local_stack):
    """A subscriber: every incident event on the bus lands in an SQS queue (as a learning or
    notification agent would subscribe with its own rule)."""
    sqs, events = local_stack.client("sqs"), local_stack.client("events")
    url = sqs.create_queue(QueueName="test-bus-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = local_stack.resolve(w.Ref("bus", n.BUS_INCIDENTS))
    events.put_rule(Name="test-all-incident-events", EventBusName=bus, EventPattern=json.dumps({"source": [n.APP]}))
    events.put_targets(Rule="test-all-incident-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def bus_events(local_stack, url: str, incident_id: str) -> list[dict]:
    local_stack.pump.drain()  # the events table's stream -> the publisher function -> the bus
    sqs, out = local_stack.client("sqs"), []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [e for e in out if e["detail"]["incident_id"] == incident_id]


@pytest.fixture()
def escalated(local_stack, player, t0, bus_queue) -> str:
    """An incident the pipeline opened, diagnosed and escalated (an ambiguous storm)."""
    local_stack.put_topology(TOPOLOGY)
    bus_events(local_stack, bus_queue, "")  # start from an empty subscriber queue
    (iid,) = play(player, [(t0, "alertmanager", am_body(am_alert("HighRequestLatency", "web", t0, severity="warning"),
                                                        am_alert("HighRequestErrorRate", "api", t0)))])
    return iid


def test_the_pipelines_incidents_verify_and_every_new_event_reaches_the_bus(local_stack, player, escalated, bus_queue,
                                                                           store):
    status, body = player.api("GET", f"/incidents/{escalated}/verify")
    assert status == 200 and body["ok"] and body["events"] >= 5
    seen = bus_events(local_stack, bus_queue, escalated)
    stored = {i["seq"]: i for i in store.read_items(escalated)}
    assert sorted(e["detail"]["seq"] for e in seen) == sorted(stored)  # every event, once
    for e in seen:  # the documented shape (store/changes.py)
        d, item = e["detail"], stored[e["detail"]["seq"]]
        assert e["source"] == n.APP and e["detail-type"] == d["type"] == item["type"]
        assert d["hash"] == item["hash"] and d["prev_hash"] == item["prev_hash"] and d["detail_version"] == 1
        assert d["data"] == json.loads(item["data"])


def test_resolve_reopen_and_the_metrics_come_from_the_events(local_stack, player, escalated, bus_queue, t0):
    bus_events(local_stack, bus_queue, escalated)
    at = t0 + timedelta(minutes=30)
    player.clock.set(at)  # the recording's clock: events are stamped with it
    predicted = player.api("GET", f"/incidents/{escalated}")[1]["root_cause"] or {}
    assert player.api("POST", f"/incidents/{escalated}/resolve", {"category": "nonsense", "service": "db"}, at)[0] == 400
    status, body = player.api("POST", f"/incidents/{escalated}/resolve", {"category": "network"}, at)
    assert status == 400 and body["field"] == "service"
    status, body = player.api("POST", f"/incidents/{escalated}/acknowledge", {"note": "looking"}, at,
                              headers={"X-IC-User": "ann"})
    assert status == 201 and body["event"] == "incident.acknowledged" and body["by"] == "ann"
    status, body = player.api("POST", f"/incidents/{escalated}/resolve",
                              {"category": "dependency_failure", "service": "api", "note": "db pool"}, at,
                              headers={"X-IC-User": "ann"})
    assert status == 201 and body["status"] == "resolved"
    status, again = player.api("POST", f"/incidents/{escalated}/resolve", {"category": "network", "service": "x"}, at)
    assert status == 409 and "is resolved (by ann" in again["error"]
    (resolved,) = [e for e in bus_events(local_stack, bus_queue, escalated) if e["detail-type"] == "incident.resolved"]
    data = resolved["detail"]["data"]  # what the learning agent receives
    assert (data["category"], data["service"], data["by"]) == ("dependency_failure", "api", "ann")
    assert (data["predicted_category"], data["predicted_service"]) == (predicted.get("category"), predicted.get("service"))
    status, m = player.api("GET", f"/incidents/{escalated}/metrics")
    assert status == 200 and m["acknowledged_by"] == "human:ann" and m["ttr_seconds"] is not None
    assert m["ttr_seconds"] >= m["tta_seconds"] >= 0 and parse_iso(m["resolved_at"]) == at
    status, agg = player.api("GET", "/metrics", query={"since": iso(t0 - timedelta(minutes=1)),
                                                        "until": iso(t0 + timedelta(hours=1))})
    assert status == 200 and [r["incident_id"] for r in agg["incidents"]] == [escalated]
    assert agg["aggregate"]["mttr"]["median"] == m["ttr_seconds"] and agg["aggregate"]["noise_reduction"] >= 1
    assert player.api("GET", "/metrics", query={"since": iso(t0), "until": iso(t0)})[0] == 400
    status, body = player.api("POST", f"/incidents/{escalated}/reopen", {"reason": "it came back"}, at)
    assert status == 201 and body["status"] == "open"
    assert player.api("GET", f"/incidents/{escalated}/metrics")[1]["ttr_seconds"] is None
    assert player.api("POST", f"/incidents/{escalated}/reopen", {"reason": "again"}, at)[0] == 409
    assert player.api("GET", f"/incidents/{escalated}/verify")[0] == 200


def test_retention_archives_then_expires_and_the_chain_still_verifies(local_stack, player, escalated, store, t0):
    at = t0 + timedelta(minutes=10)
    player.clock.set(at)
    assert player.api("POST", f"/incidents/{escalated}/resolve", {"category": "network", "service": "api"}, at)[0] == 201
    before = store.read_items(escalated)
    tick = iso(at + timedelta(days=91))  # the schedule fires three months later
    result, error = local_stack.invoke(n.F_ARCHIVER, {"source": "aws.events", "detail-type": "Scheduled Event",
                                                      "time": tick})
    assert error is None and escalated in result["archived"], result
    s3 = local_stack.client("s3")
    bucket = w.BUCKETS[n.B_ARCHIVE].physical_name(local_stack.stage)
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"incidents/{escalated}/")["Contents"]]
    archived = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["events"]
    assert [e["hash"] for e in archived] == [i["hash"] for i in before]  # archived first, exactly as stored
    items = store.read_items(escalated)
    assert all(i.get("expires_at") for i in items[:-1]) and items[-1]["type"] == "incident.archived"
    assert "expires_at" not in items[-1]
    # DynamoDB's TTL sweeper (moto has none) deletes the expired events
    ddb = local_stack.client("dynamodb")
    for i in items[:-1]:
        ddb.delete_item(TableName=store.events_table, Key={n.EVENTS_PK: {"S": escalated}, n.EVENTS_SK: {"N": str(i["seq"])}})
    status, body = player.api("GET", f"/incidents/{escalated}/verify")
    assert status == 200 and body["archived_events"] == len(before) and body["events"] == len(before) + 1
    status, timeline = player.api("GET", f"/incidents/{escalated}/timeline")
    assert timeline["verified"] and len(timeline["events"]) == len(before) + 1
    result, _ = local_stack.invoke(n.F_ARCHIVER, {"time": tick})
    assert escalated not in result["archived"]  # visited once


def test_every_incident_a_replay_creates_has_a_verified_timeline(local_stack, player, t0, tmp_path: Path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "topology.yaml").write_text(TOPOLOGY)
    storm = [(t0, am_body(am_alert("ContainerOOMKilled", "db", t0), am_alert("HighMemoryUsage", "db", t0))),
             (t0 + timedelta(seconds=20), am_body(am_alert("HighRequestErrorRate", "api", t0))),
             (t0 + timedelta(seconds=40), am_body(am_alert("LedgerLag", "ledger", t0, cluster="other")))]
    (case / "events.jsonl").write_text("".join(json.dumps({"at": iso(at), "source": "alertmanager", "body": b}) + "\n"
                                               for at, b in storm))
    before = {s.incident_id for s in store_states(local_stack)}
    doc = replay_run(load(case), local_stack)  # predicts every incident in the store, not only its own
    created = [inc["id"] for inc in doc["incidents"] if inc["id"] not in before]
    assert len(created) >= 2
    for iid in created:
        status, body = player.api("GET", f"/incidents/{iid}/timeline")
        assert status == 200 and body["verified"], body["verification"]


def store_states(local_stack):
    store = DynamoEventStore(local_stack.resolve(w.Ref("table", n.T_EVENTS)),
                             local_stack.resolve(w.Ref("table", n.T_INCIDENTS)))
    cursor = None
    while True:
        page = store.list_states(limit=100, cursor=cursor)
        yield from page.items
        if page.cursor is None:
            return
        cursor = page.cursor
