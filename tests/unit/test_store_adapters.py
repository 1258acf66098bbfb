"""Adapter request shapes and failure paths with botocore's Stubber: the change stream's bus entries
and PutEvents batching, and how the DynamoDB store reports conflicts and region failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber
from incident_commander import names as n
from incident_commander.adapters.dynamodb import DynamoEventStore, marshal, region_unavailable
from incident_commander.adapters.eventbridge import EventBridgePublisher
from incident_commander.models.events import Acknowledged, EventType, IncidentOpened, NewEvent
from incident_commander.models.incident import IncidentState
from incident_commander.store.changes import MAX_DETAIL_BYTES, bus_entry, publish
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.port import ConcurrencyError, StoreUnavailable

AT = datetime(2026, 1, 1, tzinfo=UTC)


def client(service: str):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def stored_items(n_events: int = 2) -> list[dict]:
    store = InMemoryEventStore()
    evs = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title="t", severity="high",
                                                                 first_alert_at=AT), AT, "agent:detection", "o")]
    evs += [NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by=f"p{i}"), AT, "human", f"a{i}")
            for i in range(n_events - 1)]
    store.append("i1", 0, evs)
    return store.read_items("i1")


# --- change stream ------------------------------------------------------------------------------
def test_a_bus_entry_is_the_documented_event():
    item = stored_items()[1]
    entry = bus_entry(item)
    assert entry["Source"] == n.APP and entry["DetailType"] == "incident.acknowledged"
    detail = json.loads(entry["Detail"])
    assert detail == {"incident_id": "i1", "seq": 2, "type": "incident.acknowledged", "schema_version": 1,
                      "at": item["at"], "recorded_at": item["recorded_at"], "actor": "human",
                      "idempotency_key": "a0", "hash": item["hash"], "prev_hash": item["prev_hash"],
                      "detail_version": 1, "data": {"by": "p0", "note": ""}}


def test_an_event_too_large_for_eventbridge_goes_out_without_its_data():
    item = dict(stored_items()[1], data=json.dumps({"by": "x" * (MAX_DETAIL_BYTES + 10), "note": ""}))
    detail = json.loads(bus_entry(item)["Detail"])
    assert detail["data"] is None and detail["data_omitted"] is True and detail["hash"] == item["hash"]


def test_put_events_is_batched_by_ten_and_failures_map_back_to_their_records():
    items = stored_items(23)
    events = client("events")
    with Stubber(events) as stub:
        for size, failed in ((10, {3}), (10, set()), (3, {0})):
            stub.add_response("put_events", {
                "FailedEntryCount": len(failed),
                "Entries": [{"ErrorCode": "InternalFailure"} if i in failed else {"EventId": f"e{i}"}
                            for i in range(size)]},
                {"Entries": [{"Source": n.APP, "DetailType": ANY, "Detail": ANY, "Time": ANY, "EventBusName": "bus"}
                             for _ in range(size)]})
        failed_ids = publish([(f"r{i}", it) for i, it in enumerate(items)], EventBridgePublisher("bus", events))
        stub.assert_no_pending_responses()
    assert failed_ids == ["r3", "r20"]


# --- DynamoDB store -------------------------------------------------------------------------------
def test_region_failures_are_told_apart_from_bad_requests():
    ddb = client("dynamodb")
    store = DynamoEventStore("ev", "inc", ddb)
    with Stubber(ddb) as stub:
        stub.add_client_error("get_item", "InternalServerError", http_status_code=500)
        with pytest.raises(StoreUnavailable, match="eu-west-1"):
            store.get_state("i1")
        stub.add_client_error("query", "ProvisionedThroughputExceededException", http_status_code=400)
        with pytest.raises(StoreUnavailable):
            store.read_items("i1")
        stub.add_client_error("get_item", "ResourceNotFoundException", http_status_code=400)
        with pytest.raises(Exception) as caught:
            store.get_state("i1")
        assert not isinstance(caught.value, StoreUnavailable)  # a misconfiguration, not an outage
    assert region_unavailable(EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"))


def test_a_conflict_carries_the_projection_that_won():
    ddb = client("dynamodb")
    store = DynamoEventStore("ev", "inc", ddb)
    won = IncidentState(incident_id="i1", version=7, last_hash="h7", title="winner")
    new = [NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by="me"), AT, "h", "k")]
    reasons = [{"Code": "None"}, {"Code": "None"},
               {"Code": "ConditionalCheckFailed", "Item": marshal({"incident_id": "i1", "state": won.model_dump_json()})}]
    with Stubber(ddb) as stub:
        stub.add_client_error("transact_write_items", "TransactionCanceledException", http_status_code=400,
                              response_meta={}, modeled_fields={"CancellationReasons": reasons})
        with pytest.raises(ConcurrencyError) as caught:
            store.append("i1", 6, new, state=IncidentState(incident_id="i1", version=6, last_hash="h6"))
    assert caught.value.current == won


def test_a_seen_idempotency_key_returns_the_stored_event_instead_of_a_conflict():
    ddb = client("dynamodb")
    store = DynamoEventStore("ev", "inc", ddb)
    item = stored_items()[1]
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "ConditionalCheckFailed"}]
    with Stubber(ddb) as stub:
        stub.add_client_error("transact_write_items", "TransactionCanceledException", http_status_code=400,
                              modeled_fields={"CancellationReasons": reasons})
        stub.add_response("get_item", {"Item": {"seq": {"N": "2"}}},
                          {"TableName": "inc", "Key": {"incident_id": {"S": f"{n.IDEMPOTENCY_PREFIX}i1#a0"}},
                           "ConsistentRead": True})
        stub.add_response("get_item", {"Item": marshal(item)},
                          {"TableName": "ev", "Key": {"incident_id": {"S": "i1"}, "seq": {"N": "2"}},
                           "ConsistentRead": True})
        stub.add_response("get_item", {"Item": {"state": {"S": IncidentState(incident_id="i1", version=2).model_dump_json()}}},
                          {"TableName": "inc", "Key": {"incident_id": {"S": "i1"}}, "ConsistentRead": True})
        again, state = store.append("i1", 1, [NewEvent.of(EventType.ACKNOWLEDGED, Acknowledged(by="p0"), AT,
                                                          "human", "a0")],
                                    state=IncidentState(incident_id="i1", version=1, last_hash=item["prev_hash"]))
    assert [e.hash for e in again] == [item["hash"]] and state.version == 2
