"""The control table: topology, escalation task tokens, agent track records."""

from __future__ import annotations

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

    # --- agent track records ------------------------------------------------------------------
    def get_agent_records(self) -> dict[str, Any]:
        """agent -> consensus.track_record.AgentRecord (one item per agent: AGENT / name)."""
        from ..consensus.track_record import AgentRecord

        r = self.ddb.query(TableName=self.table, KeyConditionExpression="#pk = :p",
                           ExpressionAttributeNames={"#pk": n.PK}, ExpressionAttributeValues={":p": {"S": "AGENT"}})
        return {i[n.SK]["S"]: AgentRecord.model_validate_json(i["record"]["S"]) for i in r.get("Items", [])}

    def update_agent_record(self, agent: str, change: Any, attempts: int = 8) -> None:
        """Read-modify-write one agent's record under a version condition (no lost update)."""
        from ..consensus.track_record import AgentRecord

        for _ in range(attempts):
            r = self.ddb.get_item(TableName=self.table, Key=self._key("AGENT", agent), ConsistentRead=True)
            item = r.get("Item")
            current = AgentRecord.model_validate_json(item["record"]["S"]) if item else AgentRecord()
            version = int(item["version"]["N"]) if item else 0
            new = change(current)
            kwargs: dict[str, Any] = {"TableName": self.table, "Item": {
                **self._key("AGENT", agent), "record": {"S": new.model_dump_json()},
                "version": {"N": str(version + 1)}, "updated_at": {"N": str(int(time.time()))}}}
            if item:
                kwargs.update(ConditionExpression="version = :v", ExpressionAttributeValues={":v": {"N": str(version)}})
            else:
                kwargs.update(ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames={"#pk": n.PK})
            try:
                self.ddb.put_item(**kwargs)
                return
            except self.ddb.exceptions.ConditionalCheckFailedException:
                continue
        raise RuntimeError(f"could not update the track record of {agent}: too much contention")
