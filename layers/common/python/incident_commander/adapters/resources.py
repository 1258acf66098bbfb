"""Status of the deployment's AWS resources, for `GET /health` (describe calls only, nothing is changed)."""

from __future__ import annotations

from typing import Any

from . import aws


def table_status(name: str, client: Any = None) -> dict[str, Any]:
    t = (client or aws.client("dynamodb")).describe_table(TableName=name)["Table"]
    return {"name": name, "state": t.get("TableStatus"), "items": t.get("ItemCount"),
            "replicas": [r.get("RegionName") for r in t.get("Replicas", [])]}


def stream_status(name: str, client: Any = None) -> dict[str, Any]:
    s = (client or aws.client("kinesis")).describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    return {"name": name, "state": s.get("StreamStatus"), "shards": s.get("OpenShardCount"),
            "retention_hours": s.get("RetentionPeriodHours")}


def state_machine_status(arn: str, client: Any = None) -> dict[str, Any]:
    m = (client or aws.client("stepfunctions")).describe_state_machine(stateMachineArn=arn)
    return {"name": m.get("name"), "state": m.get("status"), "type": m.get("type")}
