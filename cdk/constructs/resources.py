"""The bridge from wiring `Ref`s to constructs: resolve an environment value, grant what it says.

Every function's permissions come from its own environment (`FunctionSpec.env`): a `Ref` names a
resource and the access the function needs (`Ref.access`, else the kind's default), and this is
the only place that turns that into `grant_*` calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from incident_commander import wiring as w

DEFAULT_ACCESS = {"table": "read_write", "stream": "write", "state_machine": "start", "queue": "send",
                  "secret": "read", "bus": "put", "collection": "read_write", "bucket": "read_write"}


@dataclass
class Resources:
    tables: dict[str, ddb.TableV2] = field(default_factory=dict)
    streams: dict[str, kinesis.Stream] = field(default_factory=dict)
    queues: dict[str, sqs.Queue] = field(default_factory=dict)
    buckets: dict[str, s3.Bucket] = field(default_factory=dict)
    secrets: dict[str, sm.Secret] = field(default_factory=dict)
    buses: dict[str, events.EventBus] = field(default_factory=dict)
    collections: dict[str, Any] = field(default_factory=dict)  # search.VectorCollection
    state_machine_arns: dict[str, str] = field(default_factory=dict)  # known before the machine exists
    state_machines: dict[str, sfn.StateMachine] = field(default_factory=dict)
    _replicas: dict[tuple[str, str], Any] = field(default_factory=dict)

    def replica(self, table: str, region: str) -> Any:
        """One reference per (table, region): the replica of a global table, for grants there."""
        if (table, region) not in self._replicas:
            self._replicas[(table, region)] = self.tables[table].replica(region)
        return self._replicas[(table, region)]

    def resolve(self, value: str | w.Ref) -> str:
        if isinstance(value, str):
            return value
        k, key, attr = value.kind, value.key, value.attr
        try:
            if k == "table":
                return self.tables[key].table_arn if attr == "arn" else self.tables[key].table_name
            if k == "stream":
                return self.streams[key].stream_arn if attr == "arn" else self.streams[key].stream_name
            if k == "queue":
                q = self.queues[key]
                return {"arn": q.queue_arn, "url": q.queue_url}.get(attr, q.queue_name)
            if k == "bucket":
                return self.buckets[key].bucket_arn if attr == "arn" else self.buckets[key].bucket_name
            if k == "secret":
                return self.secrets[key].secret_arn if attr == "arn" else self.secrets[key].secret_name
            if k == "bus":
                return self.buses[key].event_bus_arn if attr == "arn" else self.buses[key].event_bus_name
            if k == "collection":
                c = self.collections[key]
                return {"arn": c.arn, "endpoint": c.endpoint}.get(attr, c.name)
            if k == "state_machine":
                arn = self.state_machine_arns[key]
                return arn if attr == "arn" else arn.rsplit(":", 1)[-1]
        except KeyError:
            raise ValueError(f"{value}: no {k} {key!r} is deployed (is it in wiring?)") from None
        raise ValueError(f"{value}: unknown kind {k!r}")

    def grant(self, value: w.Ref, grantee: iam.IRole) -> None:
        for access in value.access or (DEFAULT_ACCESS[value.kind],):
            self._grant_one(value, access, grantee)

    def _grant_one(self, ref: w.Ref, access: str, g: iam.IRole) -> None:
        k, key = ref.kind, ref.key
        grants: dict[tuple[str, str], Any] = {
            ("table", "read"): lambda: self.tables[key].grant_read_data(g),
            ("table", "write"): lambda: self.tables[key].grant_write_data(g),
            ("table", "read_write"): lambda: self.tables[key].grant_read_write_data(g),
            ("stream", "write"): lambda: self.streams[key].grant_write(g),
            ("stream", "read"): lambda: self.streams[key].grant_read(g),
            ("stream", "describe"): lambda: self.streams[key].grant(g, "kinesis:DescribeStreamSummary"),
            ("queue", "send"): lambda: self.queues[key].grant_send_messages(g),
            ("queue", "consume"): lambda: self.queues[key].grant_consume_messages(g),
            ("secret", "read"): lambda: self.secrets[key].grant_read(g),
            ("bucket", "read"): lambda: self.buckets[key].grant_read(g),
            ("bucket", "write"): lambda: self.buckets[key].grant_put(g),
            ("bucket", "read_write"): lambda: self.buckets[key].grant_read_write(g),
            ("bus", "put"): lambda: self.buses[key].grant_put_events_to(g),
            ("collection", "read_write"): lambda: self.collections[key].grant_read_write(g),
            ("state_machine", "start"): lambda: self.state_machines[key].grant_start_execution(g),
            ("state_machine", "respond"): lambda: self.state_machines[key].grant_task_response(g),
            ("state_machine", "describe"): lambda: self.state_machines[key].grant(g, "states:DescribeStateMachine"),
        }
        if (k, access) not in grants:
            allowed = sorted(a for kind, a in grants if kind == k)
            raise ValueError(f"{ref}: access {access!r} is not one of {allowed}")
        grants[(k, access)]()
