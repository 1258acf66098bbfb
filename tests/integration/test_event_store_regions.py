"""Cross-region logic on two moto regions standing in for a global table's replicas.

moto ignores global-table replicas, so nothing replicates here: `replicate` copies an incident's
items from the home region to the replica the way replication would, and the tests then damage one
copy, detect it, repair it (API and CLI), and fail reads over when the home region stops answering.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from incident_commander import names as n
from incident_commander import wiring as w
from incident_commander.adapters.dynamodb import DynamoEventStore, event_attributes, marshal
from incident_commander.api.app import build_app
from incident_commander.api.roles import AuthConfig
from incident_commander.config import Settings
from incident_commander.local.cli import main as cli
from incident_commander.local.player import proxy_event
from incident_commander.local.stack import table_request
from incident_commander.models.events import EventType, MonitoringStarted, NewEvent
from incident_commander.runtime import Deps
from incident_commander.store.failover import FailoverEventStore
from incident_commander.store.port import StoreUnavailable

from benchmarks.event_store import AT, open_incident

HOME, REPLICA = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def regions(local_stack):
    names = {k: local_stack.resolve(w.Ref("table", k)) for k in (n.T_EVENTS, n.T_INCIDENTS)}
    replica_ddb = boto3.client("dynamodb", region_name=REPLICA)
    for key in names:
        replica_ddb.create_table(**table_request(w.TABLES[key], local_stack.stage))
    home = DynamoEventStore(names[n.T_EVENTS], names[n.T_INCIDENTS], boto3.client("dynamodb", region_name=HOME))
    replica = DynamoEventStore(names[n.T_EVENTS], names[n.T_INCIDENTS], replica_ddb)
    return home, replica


def replicate(home: DynamoEventStore, replica: DynamoEventStore, iid: str) -> None:
    for item in home.read_items(iid):
        replica.ddb.put_item(TableName=replica.events_table, Item=event_attributes(item))
    state = home.get_state(iid)
    replica.ddb.put_item(TableName=replica.incidents_table, Item=marshal(home._projection_item(state)))


@pytest.fixture()
def incident(regions):
    home, replica = regions
    iid = f"inc-regions-{uuid.uuid4().hex[:8]}"
    open_incident(home, iid)
    for i in range(3):
        home.append(iid, i + 1, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=f"n{i}"), AT, "t")])
    replicate(home, replica, iid)
    return iid


def api(store, method: str, path: str):
    """The real API resolver over a store spanning both regions (what IC_REPLICA_REGIONS builds)."""
    deps = Deps(settings=Settings(), events=store, topology=lambda: None)
    event = proxy_event(method, path, headers={"X-IC-User": "auditor"})
    reply = build_app(lambda: deps, AuthConfig(mode="local")).resolve(event, None)
    return reply["statusCode"], json.loads(reply["body"])


def test_the_tables_really_are_two_separate_regions(regions, incident):
    home, replica = regions
    assert home.region == HOME and replica.region == REPLICA
    replica.ddb.delete_item(TableName=replica.events_table, Key={n.EVENTS_PK: {"S": incident}, n.EVENTS_SK: {"N": "4"}})
    assert len(home.read_items(incident)) == 4 and len(replica.read_items(incident)) == 3


def test_a_damaged_replica_is_named_by_verify_and_repaired_from_the_home_region(regions, incident):
    home, replica = regions
    replica.ddb.update_item(TableName=replica.events_table, Key={n.EVENTS_PK: {"S": incident}, n.EVENTS_SK: {"N": "2"}},
                            UpdateExpression="SET actor = :a", ExpressionAttributeValues={":a": {"S": "mallory"}})
    store = FailoverEventStore(home, [replica])
    status, body = api(store, "GET", f"/incidents/{incident}/verify")
    assert status == 409 and body["first_bad_seq"] == 2 and body["problem"].startswith(f"{REPLICA}: event 2")
    assert [(r["region"], r["status"]) for r in body["replicas"]["regions"]] == [(HOME, "ok"), (REPLICA, "damaged")]
    status, body = api(store, "POST", f"/incidents/{incident}/repair")
    assert status == 200 and body["repairs"][0]["region"] == REPLICA and body["repairs"][0]["seqs"] == [2]
    assert replica.read_items(incident)[1]["actor"] == "t"
    last = home.read(incident)[-1]
    assert last.type == EventType.EVENT_REPAIRED and last.data["source_region"] == HOME  # recorded in the chain
    replicate(home, replica, incident)
    assert api(store, "GET", f"/incidents/{incident}/verify")[0] == 200


def test_the_cli_compares_and_repairs_replicas(regions, incident, capsys):
    home, replica = regions
    replica.ddb.delete_item(TableName=replica.events_table, Key={n.EVENTS_PK: {"S": incident}, n.EVENTS_SK: {"N": "3"}})
    assert cli(["verify", "--stage", "local", "--replicas", REPLICA, incident]) == 1
    assert f"{REPLICA}: damaged at event 3" in capsys.readouterr().out
    assert cli(["verify", "--stage", "local", "--replicas", REPLICA, "--repair", incident]) == 0
    out = capsys.readouterr().out
    assert f"repaired {REPLICA} from {HOME}: events [3]" in out and f"{REPLICA}: behind" in out


def test_a_damaged_home_region_is_repaired_from_the_replica(regions, incident):
    home, replica = regions
    home.ddb.update_item(TableName=home.events_table, Key={n.EVENTS_PK: {"S": incident}, n.EVENTS_SK: {"N": "3"}},
                         UpdateExpression="SET #d = :d", ExpressionAttributeNames={"#d": "data"},
                         ExpressionAttributeValues={":d": {"S": '{"reason":"rewritten"}'}})
    status, body = api(FailoverEventStore(home, [replica]), "POST", f"/incidents/{incident}/repair")
    assert status == 200 and body["repairs"][0]["region"] == HOME and body["repairs"][0]["source_region"] == REPLICA
    assert home.read_items(incident)[2]["data"] == replica.read_items(incident)[2]["data"]
    status, body = api(home, "GET", f"/incidents/{incident}/verify")
    assert status == 200 and body["events"] == 5  # the four events and the recorded repair


def test_reads_fail_over_when_the_home_region_stops_answering(regions, incident):
    _, replica = regions
    dead = boto3.client("dynamodb", region_name=HOME, endpoint_url="http://127.0.0.1:9",  # nothing listens
                        config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    store = FailoverEventStore(DynamoEventStore(replica.events_table, replica.incidents_table, dead), [replica])
    status, body = api(store, "GET", f"/incidents/{incident}/verify")
    assert status == 200 and body["events"] == 4 and store.last_read_region == REPLICA
    status, body = api(store, "GET", f"/incidents/{incident}/timeline")
    assert status == 200 and body["verified"] and len(body["events"]) == 4
    with pytest.raises(StoreUnavailable, match=HOME):  # appends never go to a replica
        store.append(incident, 4, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="x"), AT, "t")])
