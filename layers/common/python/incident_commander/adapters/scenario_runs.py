"""Who played which demo scenario when: one control-table item per run (they expire after 30 days)."""

from __future__ import annotations

import json
import time
from typing import Any

from .. import names as n
from . import aws

RETENTION_SECONDS = 30 * 24 * 3600


class ScenarioRunLog:
    def __init__(self, table: str, client: Any = None):
        self.table = table
        self.ddb = client or aws.client("dynamodb")

    def record(self, run: dict[str, Any]) -> None:
        self.ddb.put_item(TableName=self.table, Item={
            n.PK: {"S": n.CONTROL_SCENARIO_RUN_PK}, n.SK: {"S": f"{run['recorded_at']}#{run['run_id']}"},
            "run": {"S": json.dumps(run, default=str)},
            n.TTL_ATTRIBUTE: {"N": str(int(time.time()) + RETENTION_SECONDS)}})

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        r = self.ddb.query(TableName=self.table, KeyConditionExpression="#pk = :p", ScanIndexForward=False,
                           Limit=limit, ExpressionAttributeNames={"#pk": n.PK},
                           ExpressionAttributeValues={":p": {"S": n.CONTROL_SCENARIO_RUN_PK}})
        return [json.loads(i["run"]["S"]) for i in r.get("Items", [])]
