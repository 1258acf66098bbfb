"""DynamoDB adapters: the event store (events + projections in one transaction)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .. import names as n
from ..models.events import StoredEvent
from ..models.incident import IncidentState
from ..store.port import ConcurrencyError, EventStore, Page, from_item, to_item
from ..timeutil import iso
from . import aws

_ser = TypeSerializer()
_de = TypeDeserializer()


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: _de.deserialize(v) for k, v in item.items()}
    for k, v in out.items():
        if type(v).__name__ == "Decimal":
            out[k] = int(v) if v == int(v) else float(v)
    return out


class DynamoEventStore(EventStore):
    def __init__(self, events_table: str, incidents_table: str, client: Any = None):
        self.events_table = events_table
        self.incidents_table = incidents_table
        self.ddb = client or aws.client("dynamodb")

    def get_state(self, incident_id: str) -> IncidentState | None:
        r = self.ddb.get_item(TableName=self.incidents_table, Key={n.INCIDENTS_PK: {"S": incident_id}},
                              ConsistentRead=True)
        item = r.get("Item")
        return IncidentState.model_validate_json(item["state"]["S"]) if item else None

    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.events_table, "ConsistentRead": True,
            "KeyConditionExpression": "#pk = :id",
            "ExpressionAttributeNames": {"#pk": n.EVENTS_PK},
            "ExpressionAttributeValues": {":id": {"S": incident_id}},
        }
        while True:
            r = self.ddb.query(**kwargs)
            out.extend(unmarshal(i) for i in r.get("Items", []))
            if "LastEvaluatedKey" not in r:
                return out
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]

    def _projection_item(self, state: IncidentState) -> dict[str, Any]:
        opened = iso(state.opened_at) if state.opened_at else ""
        return {
            n.INCIDENTS_PK: state.incident_id, "version": state.version, "state": state.model_dump_json(),
            n.INCIDENTS_LIST_PK: n.INCIDENTS_LIST_PARTITION, n.INCIDENTS_LIST_SK: f"{opened}#{state.incident_id}",
            "status": state.status.value, "severity": state.severity, "services": state.services or None,
            "head_hash": state.last_hash,
        }

    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        items: list[dict[str, Any]] = []
        for e in events:
            items.append({"Put": {"TableName": self.events_table, "Item": marshal(to_item(e)),
                                  "ConditionExpression": "attribute_not_exists(#pk)",
                                  "ExpressionAttributeNames": {"#pk": n.EVENTS_PK}}})
        markers = [e for e in events if e.idempotency_key]
        for e in markers:
            items.append({"Put": {"TableName": self.incidents_table,
                                  "Item": marshal({n.INCIDENTS_PK: self._marker(incident_id, e.idempotency_key),
                                                   "seq": e.seq}),
                                  "ConditionExpression": "attribute_not_exists(#pk)",
                                  "ExpressionAttributeNames": {"#pk": n.INCIDENTS_PK}}})
        cond = "attribute_not_exists(#pk)" if expected_version == 0 else "version = :v"
        put: dict[str, Any] = {"TableName": self.incidents_table, "Item": marshal(self._projection_item(state)),
                               "ConditionExpression": cond, "ExpressionAttributeNames": {"#pk": n.INCIDENTS_PK}}
        if expected_version:
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
            put["ConditionExpression"] = "attribute_exists(#pk) AND version = :v"
        items.append({"Put": put})
        try:
            self.ddb.transact_write_items(TransactItems=items)
        except self.ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            marker_reasons = reasons[len(events):len(events) + len(markers)]
            for e, code in zip(markers, marker_reasons, strict=False):
                if code == "ConditionalCheckFailed":
                    return self._existing(incident_id, e.idempotency_key)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise ConcurrencyError(f"{incident_id}: version {expected_version} is stale") from exc
            raise
        return None

    @staticmethod
    def _marker(incident_id: str, key: str | None) -> str:
        return f"{n.IDEMPOTENCY_PREFIX}{incident_id}#{key}"

    def _existing(self, incident_id: str, key: str | None) -> list[StoredEvent]:
        r = self.ddb.get_item(TableName=self.incidents_table,
                              Key={n.INCIDENTS_PK: {"S": self._marker(incident_id, key)}}, ConsistentRead=True)
        seq = int(r["Item"]["seq"]["N"])
        e = self.ddb.get_item(TableName=self.events_table, ConsistentRead=True,
                              Key={n.EVENTS_PK: {"S": incident_id}, n.EVENTS_SK: {"N": str(seq)}})
        return [from_item(unmarshal(e["Item"]))]

    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        """Newest first from the listing index; `predicate` filters in the adapter (bounded pages)."""
        out: list[IncidentState] = []
        start = json.loads(cursor) if cursor else None
        while len(out) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.incidents_table, "IndexName": n.INCIDENTS_LIST_INDEX,
                "KeyConditionExpression": "#p = :p", "ScanIndexForward": False, "Limit": max(limit, 25),
                "ExpressionAttributeNames": {"#p": n.INCIDENTS_LIST_PK},
                "ExpressionAttributeValues": {":p": {"S": n.INCIDENTS_LIST_PARTITION}},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            r = self.ddb.query(**kwargs)
            last = None
            for raw in r.get("Items", []):
                s = IncidentState.model_validate_json(raw["state"]["S"])
                last = {k: raw[k] for k in (n.INCIDENTS_PK, n.INCIDENTS_LIST_PK, n.INCIDENTS_LIST_SK)}
                if predicate is None or predicate(s):
                    out.append(s)
                    if len(out) == limit:
                        break
            if len(out) == limit and last is not None:
                return Page(out, json.dumps(last))
            if "LastEvaluatedKey" not in r:
                return Page(out, None)
            start = r["LastEvaluatedKey"]
        return Page(out, None)
