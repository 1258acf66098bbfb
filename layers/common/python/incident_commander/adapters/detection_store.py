"""DynamoDB adapter of the detection working state (scope states, alert index, pending dispatches)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import names as n
from ..detection.ports import DetectionStore, StaleScopeError
from ..detection.state import AlertRecord, ScopeState
from ..timeutil import iso, parse_iso
from . import aws
from .dynamodb import packed, unpacked

ALERT_TTL_SECONDS = 14 * 24 * 3600


class DynamoDetectionStore(DetectionStore):
    def __init__(self, table: str, client: Any = None):
        self.table = table
        self.ddb = client or aws.client("dynamodb")

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {n.PK: {"S": pk}, n.SK: {"S": sk}}

    def load_scope(self, scope: str) -> ScopeState:
        r = self.ddb.get_item(TableName=self.table, Key=self._key(n.DETECTION_SCOPE_PREFIX + scope, "STATE"),
                              ConsistentRead=True)
        item = r.get("Item")
        if not item:
            return ScopeState(scope=scope)
        return ScopeState.model_validate_json(unpacked(item["state"]))

    def save_scope(self, state: ScopeState, expected_version: int) -> None:
        """Written after every batch that touches the scope, so stored `packed`."""
        state.version = expected_version + 1
        item = {**self._key(n.DETECTION_SCOPE_PREFIX + state.scope, "STATE"), "version": {"N": str(state.version)},
                "state": {"B": packed(state.model_dump_json())}}
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": item}
        if expected_version == 0:
            kwargs.update(ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": n.PK})
        else:
            kwargs.update(ConditionExpression="version = :v",
                          ExpressionAttributeValues={":v": {"N": str(expected_version)}})
        try:
            self.ddb.put_item(**kwargs)
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            state.version = expected_version
            raise StaleScopeError(state.scope) from exc

    def get_alerts(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], AlertRecord]:
        out: dict[tuple[str, str], AlertRecord] = {}
        for i in range(0, len(keys), 100):
            request = {self.table: {"Keys": [self._key(f"{n.DETECTION_ALERT_PREFIX}{s}#{k}", "A") for s, k in keys[i:i + 100]],
                                    "ConsistentRead": True}}
            while request:
                r = self.ddb.batch_get_item(RequestItems=request)
                for item in r.get("Responses", {}).get(self.table, []):
                    rec = AlertRecord.from_json(item["record"]["S"])
                    out[(rec.source, rec.key)] = rec
                request = r.get("UnprocessedKeys") or {}
        return out

    def put_alerts(self, records: list[AlertRecord]) -> None:
        for i in range(0, len(records), 25):
            requests = []
            for rec in records[i:i + 25]:
                expires = int(rec.last_received_at.timestamp()) + ALERT_TTL_SECONDS
                requests.append({"PutRequest": {"Item": {
                    **self._key(f"{n.DETECTION_ALERT_PREFIX}{rec.source}#{rec.key}", "A"),
                    "record": {"S": rec.to_json()}, n.TTL_ATTRIBUTE: {"N": str(expires)}}}})
            pending = {self.table: requests}
            while pending:
                r = self.ddb.batch_write_item(RequestItems=pending)
                pending = r.get("UnprocessedItems") or {}

    def put_pending(self, incident_id: str, scope: str, due: datetime) -> None:
        self.ddb.put_item(TableName=self.table, Item={**self._key(n.DETECTION_PENDING_PK, incident_id),
                                                      "scope": {"S": scope}, "due": {"S": iso(due)}})

    def delete_pending(self, incident_id: str) -> None:
        self.ddb.delete_item(TableName=self.table, Key=self._key(n.DETECTION_PENDING_PK, incident_id))

    def list_pending(self) -> list[tuple[str, str, datetime]]:
        out: list[tuple[str, str, datetime]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "#pk = :p",
                                  "ExpressionAttributeNames": {"#pk": n.PK},
                                  "ExpressionAttributeValues": {":p": {"S": n.DETECTION_PENDING_PK}},
                                  "ConsistentRead": True}
        while True:
            r = self.ddb.query(**kwargs)
            out += [(i[n.SK]["S"], i["scope"]["S"], parse_iso(i["due"]["S"])) for i in r.get("Items", [])]
            if "LastEvaluatedKey" not in r:
                return out
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
