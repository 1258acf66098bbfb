"""The event store on DynamoDB (moto server, over HTTP): concurrent writers lose nothing, appends are
idempotent, and tampering done directly in the table is named by the API and by the CLI."""

from __future__ import annotations

import json
import uuid
import zlib

import pytest
from incident_commander import names as n
from incident_commander import wiring as w
from incident_commander.adapters.dynamodb import DynamoEventStore, event_attributes, event_item
from incident_commander.local.cli import main as cli
from incident_commander.local.moto_dynamodb import PATCH_TARGETS
from incident_commander.models.events import EventType, MonitoringStarted, NewEvent
from incident_commander.store.hashing import event_hash

from benchmarks.event_store import AT, check_chain, concurrent_appends, open_incident


@pytest.fixture(scope="module")
def store(local_stack) -> DynamoEventStore:
    return DynamoEventStore(local_stack.resolve(w.Ref("table", n.T_EVENTS)),
                            local_stack.resolve(w.Ref("table", n.T_INCIDENTS)))


def new_id(prefix: str) -> str:
    return f"inc-{prefix}-{uuid.uuid4().hex[:8]}"


def test_the_moto_internals_the_local_stack_patches_are_still_there():
    import importlib

    for target in PATCH_TARGETS:
        module, cls, attr = target.rsplit(".", 2)
        assert hasattr(getattr(importlib.import_module(module), cls), attr), f"moto moved {target}"


def test_eight_concurrent_writers_on_one_incident_store_every_event_once(store):
    """The CI-sized run of the proof; `python -m benchmarks.event_store` runs 8 x 500."""
    iid = new_id("hot")
    open_incident(store, iid)
    run = concurrent_appends(store, [iid], writers=8, per_writer=12, duplicate_every=4)
    assert not run.errors, run.errors
    assert check_chain(store, iid, 1 + 8 * 12) == []
    assert run.stats.get("conflicts", 0) > 0  # they did collide: the conditions were exercised
    print(f"\n8 writers x 12 events on one incident (moto): {run.figures()}")


def test_a_retried_append_is_stored_once(store):
    iid = new_id("idem")
    open_incident(store, iid)
    e = NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="once"), AT, "t", "step/1")
    first, _ = store.append(iid, 1, [e])
    again, state = store.append(iid, 2, [e])  # a retry after the write succeeded but the reply was lost
    assert again[0].hash == first[0].hash and state.version == 2 and len(store.read_items(iid)) == 2


def test_the_projection_is_stored_compressed_and_one_stored_as_plain_json_still_reads(store, local_stack):
    iid = new_id("zip")
    open_incident(store, iid)
    state = store.get_state(iid)
    ddb = local_stack.client("dynamodb")
    item = ddb.get_item(TableName=store.incidents_table, Key={n.INCIDENTS_PK: {"S": iid}})["Item"]
    assert json.loads(zlib.decompress(item["state"]["B"]))["incident_id"] == iid
    ddb.update_item(TableName=store.incidents_table, Key={n.INCIDENTS_PK: {"S": iid}}, UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "state"},
                    ExpressionAttributeValues={":s": {"S": zlib.decompress(item["state"]["B"]).decode()}})
    assert store.get_state(iid) == state
    store.append(iid, state.version, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="z"), AT, "t")])
    assert store.get_state(iid).version == state.version + 1 and check_chain(store, iid, state.version + 1) == []


def test_events_are_stored_packed_and_one_stored_as_plain_strings_still_reads_and_verifies(store, local_stack):
    from incident_commander.adapters.dynamodb import marshal
    from incident_commander.models.events import AlertRef, AlertsAttached, GroupingReason
    from incident_commander.store.port import to_item

    iid = new_id("packed")
    open_incident(store, iid)
    refs = [AlertRef(key=f"{i:016x}", source="alertmanager", name="HighErrorRate", service="checkout",
                     status="firing", severity="critical", starts_at=AT, received_at=AT, title="5xx above 5% " * 3,
                     reason=GroupingReason(rule="scope-time", detail="same scope, 12s from its nearest alert"))
            for i in range(3)]
    stored, _ = store.append(iid, 1, [NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=refs), AT,
                                                  "agent:detection", "batch/1")])
    ddb = local_stack.client("dynamodb")
    key = {n.EVENTS_PK: {"S": iid}, n.EVENTS_SK: {"N": "2"}}
    raw = ddb.get_item(TableName=store.events_table, Key=key)["Item"]
    plain = marshal(to_item(stored[0]))
    assert set(raw["data"]) == {"B"} and len(raw["hash"]["B"]) == len(raw["prev_hash"]["B"]) == 32
    size = sum(len(k) + len(next(iter(v.values()))) for k, v in raw.items())
    assert size < 1024 < sum(len(k) + len(next(iter(v.values()))) for k, v in plain.items())  # 1 write unit, not 2
    assert event_item(raw) == to_item(stored[0])  # exactly what was hashed
    ddb.put_item(TableName=store.events_table, Item=plain)  # as written before events were packed
    assert store.read_items(iid)[1] == to_item(stored[0]) and check_chain(store, iid, 2) == []


def test_a_diagnosed_incident_stores_its_outline_and_every_container_reads_the_whole_diagnosis(store, local_stack):
    from incident_commander.models.incident import fold
    from incident_commander.store.archive import read_verified
    from incident_commander.store.port import append_with_retry

    from tests.unit.test_store_projection import diagnose, propose

    iid = new_id("outline")
    open_incident(store, iid)
    diagnose(store, iid)
    cold = DynamoEventStore(store.events_table, store.incidents_table, local_stack.client("dynamodb"))
    append_with_retry(cold, iid, lambda _s: [propose("llm")])  # onto a head it never folded
    item = local_stack.client("dynamodb").get_item(TableName=store.incidents_table,
                                                    Key={n.INCIDENTS_PK: {"S": iid}})["Item"]
    stored = json.loads(zlib.decompress(item["state"]["B"]))
    assert stored["outlined"] and [len(hs) for hs in stored["hypotheses"].values()] == [1, 1, 1, 1]
    assert len(item["state"]["B"]) < 1024 and not stored["decision"]["votes"]  # one write unit
    other = DynamoEventStore(store.events_table, store.incidents_table, local_stack.client("dynamodb"))
    assert read_verified(other, iid, other.get_head(iid))[1].ok
    whole, folded = other.get_state(iid), fold(iid, other.read(iid))
    assert (whole.hypotheses, whole.decision) == (folded.hypotheses, folded.decision) and len(whole.decision.ranked) == 5


# --- tampering, done with the table's own API -----------------------------------------------------
@pytest.fixture()
def chain(store, local_stack):
    iid = new_id("tamper")
    open_incident(store, iid)
    for i in range(4):
        store.append(iid, i + 1, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=f"n{i}"),
                                              AT, "agent:test")])
    ddb = local_stack.client("dynamodb")
    table = local_stack.resolve(w.Ref("table", n.T_EVENTS))

    def key(seq: int) -> dict:
        return {n.EVENTS_PK: {"S": iid}, n.EVENTS_SK: {"N": str(seq)}}

    def get(seq: int) -> dict:
        return event_item(ddb.get_item(TableName=table, Key=key(seq))["Item"])

    def put(item: dict) -> None:
        ddb.put_item(TableName=table, Item=event_attributes(item))

    return iid, ddb, table, key, get, put


def modify(iid, ddb, table, key, get, put):
    ddb.update_item(TableName=table, Key=key(2), UpdateExpression="SET actor = :a",
                    ExpressionAttributeValues={":a": {"S": "mallory"}})
    return 2, "was modified"


def delete(iid, ddb, table, key, get, put):
    ddb.delete_item(TableName=table, Key=key(3))
    return 3, "missing"


def reorder(iid, ddb, table, key, get, put):
    second, third = get(2), get(3)
    put({**third, "seq": 2})
    put({**second, "seq": 3})
    return 2, "does not link"


def forge(iid, ddb, table, key, get, put):
    forged = dict(get(3), data='{"reason":"all fine"}')
    forged["hash"] = event_hash(forged)  # its own hash recomputes...
    put(forged)
    return 4, "does not link"  # ...but event 4 no longer links to it


def add_attribute(iid, ddb, table, key, get, put):
    ddb.update_item(TableName=table, Key=key(4), UpdateExpression="SET approved_by = :a",
                    ExpressionAttributeValues={":a": {"S": "mallory"}})
    return 4, "approved_by"


def append_forged(iid, ddb, table, key, get, put):
    last = get(5)
    extra = dict(last, seq=6, prev_hash=last["hash"], actor="mallory")
    extra["hash"] = event_hash(extra)
    put(extra)
    return 6, "not appended through the store"


def projection(iid, ddb, table, key, get, put):
    """What the API shows changed without touching the events: the incident "resolved" by hand."""
    incidents = table.replace(w.TABLES[n.T_EVENTS].physical_name("local"), w.TABLES[n.T_INCIDENTS].physical_name("local"))
    item = ddb.get_item(TableName=incidents, Key={n.INCIDENTS_PK: {"S": iid}})["Item"]
    state = json.loads(zlib.decompress(item["state"]["B"]))  # stored compressed (adapters/dynamodb.py)
    state.update(status="resolved", resolved_by="mallory")
    ddb.update_item(TableName=incidents, Key={n.INCIDENTS_PK: {"S": iid}}, UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "state"},
                    ExpressionAttributeValues={":s": {"B": zlib.compress(json.dumps(state).encode())}})
    return None, "projection does not match its events (resolved_by, status differ)"


@pytest.mark.parametrize("tamper", [modify, delete, reorder, forge, add_attribute, append_forged, projection])
def test_tampering_in_the_table_is_named_by_the_api_and_the_cli(chain, player, capsys, tamper):
    iid = chain[0]
    status, body = player.api("GET", f"/incidents/{iid}/verify")
    assert status == 200 and body["ok"] and body["events"] == 5
    assert cli(["verify", "--stage", "local", iid]) == 0
    bad_seq, words = tamper(*chain)
    status, body = player.api("GET", f"/incidents/{iid}/verify")
    assert status == 409 and not body["ok"] and body["first_bad_seq"] == bad_seq and words in body["problem"], body
    status, timeline = player.api("GET", f"/incidents/{iid}/timeline")
    assert status == 200 and timeline["verified"] is False
    capsys.readouterr()
    assert cli(["verify", "--stage", "local", iid]) == 1
    out = capsys.readouterr().out
    assert f"{iid}: NOT VERIFIED{f' at event {bad_seq}' if bad_seq else ''}: " in out and words in out


def test_the_cli_refuses_an_unknown_incident_and_bad_usage(capsys):
    assert cli(["verify", "--stage", "local", "inc-does-not-exist"]) == 2
    assert "no such incident" in capsys.readouterr().err
    assert cli(["verify", "--stage", "local"]) == 2
