"""The control table: topology, escalation task tokens, agent track records."""

from __future__ import annotations

import json
import time
from typing import Any

from .. import names as n
from ..timeutil import iso, utcnow
from . import aws


class TokenConflict(RuntimeError):
    """No open escalation for this incident, or its token was already used."""


class ControlStore:
    def __init__(self, table: str, client: Any = None):
        self.table = table
        self.ddb = client or aws.client("dynamodb")

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {n.PK: {"S": pk}, n.SK: {"S": sk}}

    # --- topology ------------------------------------------------------------------------------
    def get_topology_yaml(self) -> str | None:
        r = self.ddb.get_item(TableName=self.table, Key=self._key(n.CONTROL_TOPOLOGY_PK, n.CONTROL_TOPOLOGY_SK))
        return r["Item"]["yaml"]["S"] if "Item" in r else None

    def put_topology_yaml(self, text: str) -> None:
        self.ddb.put_item(TableName=self.table, Item={**self._key(n.CONTROL_TOPOLOGY_PK, n.CONTROL_TOPOLOGY_SK),
                                                      "yaml": {"S": text}, "updated_at": {"S": iso(utcnow())}})

    # --- escalation task tokens ----------------------------------------------------------------
    def put_task_token(self, incident_id: str, token: str, level: int, level_name: str) -> None:
        self.ddb.put_item(TableName=self.table, Item={
            **self._key(n.CONTROL_TASK_TOKEN_PK, incident_id), "token": {"S": token},
            "level": {"N": str(level)}, "level_name": {"S": level_name}, "issued_at": {"S": iso(utcnow())}})

    def get_task_token(self, incident_id: str) -> dict[str, Any] | None:
        r = self.ddb.get_item(TableName=self.table, Key=self._key(n.CONTROL_TASK_TOKEN_PK, incident_id),
                              ConsistentRead=True)
        if "Item" not in r:
            return None
        i = r["Item"]
        return {"token": i["token"]["S"], "level": int(i["level"]["N"]), "level_name": i["level_name"]["S"],
                "issued_at": i["issued_at"]["S"]}

    def take_task_token(self, incident_id: str, token: str) -> None:
        """Consume the token exactly once: a second response to the same escalation is refused."""
        try:
            self.ddb.delete_item(TableName=self.table, Key=self._key(n.CONTROL_TASK_TOKEN_PK, incident_id),
                                 ConditionExpression="#t = :t", ExpressionAttributeNames={"#t": "token"},
                                 ExpressionAttributeValues={":t": {"S": token}})
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            raise TokenConflict(f"{incident_id}: the escalation was already answered or has moved on") from exc

    # --- agent track records -------------------------------------------------------------------
    def get_agent_weights(self) -> dict[str, float]:
        r = self.ddb.get_item(TableName=self.table, Key=self._key("AGENTS", "weights"))
        return json.loads(r["Item"]["weights"]["S"]) if "Item" in r else {}

    def put_agent_weights(self, weights: dict[str, float]) -> None:
        self.ddb.put_item(TableName=self.table, Item={**self._key("AGENTS", "weights"),
                                                      "weights": {"S": json.dumps(weights, sort_keys=True)},
                                                      "updated_at": {"N": str(int(time.time()))}})
