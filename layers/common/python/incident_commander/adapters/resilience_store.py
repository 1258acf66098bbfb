"""The shared resilience state (breakers, buckets, model health) in the control table.

One item per (kind, name): pk `RESILIENCE#<kind>`, sk name, a JSON document and a version that
every write conditions on, so concurrent containers never overwrite each other's update.
"""

from __future__ import annotations

import json
from typing import Any

from .. import names as n
from ..resilience.store import StaleState, StateStore
from . import aws


class DynamoStateStore(StateStore):
    def __init__(self, table: str, client: Any = None):
        self.table = table
        self.ddb = client or aws.client("dynamodb")

    @staticmethod
    def _key(kind: str, name: str) -> dict[str, Any]:
        return {n.PK: {"S": f"RESILIENCE#{kind}"}, n.SK: {"S": name}}

    def get(self, kind: str, name: str) -> tuple[dict[str, Any] | None, int]:
        r = self.ddb.get_item(TableName=self.table, Key=self._key(kind, name), ConsistentRead=True)
        item = r.get("Item")
        if not item:
            return None, 0
        return json.loads(item["doc"]["S"]), int(item["version"]["N"])

    def put(self, kind: str, name: str, doc: dict[str, Any], expected_version: int) -> int:
        item = {**self._key(kind, name), "doc": {"S": json.dumps(doc)}, "version": {"N": str(expected_version + 1)}}
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": item}
        if expected_version == 0:
            kwargs.update(ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": n.PK})
        else:
            kwargs.update(ConditionExpression="version = :v",
                          ExpressionAttributeValues={":v": {"N": str(expected_version)}})
        try:
            self.ddb.put_item(**kwargs)
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            raise StaleState(f"{kind}/{name}") from exc
        return expected_version + 1

    def list(self, kind: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "#pk = :p",
                                  "ExpressionAttributeNames": {"#pk": n.PK},
                                  "ExpressionAttributeValues": {":p": {"S": f"RESILIENCE#{kind}"}}}
        while True:
            r = self.ddb.query(**kwargs)
            for i in r.get("Items", []):
                out[i[n.SK]["S"]] = json.loads(i["doc"]["S"])
            if "LastEvaluatedKey" not in r:
                return out
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
