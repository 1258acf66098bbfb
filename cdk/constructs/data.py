"""DynamoDB tables from the wiring: TableV2 (global tables), on-demand, PITR, TTL, customer-managed key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kms as kms
from constructs import Construct
from incident_commander import wiring as w

from ..config import StageConfig
from .keys import data_key_alias


def _attr(k: w.Key) -> ddb.Attribute:
    return ddb.Attribute(name=k.name, type=ddb.AttributeType.STRING if k.type == "S" else ddb.AttributeType.NUMBER)


class DataTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, specs: dict[str, w.TableSpec],
                 key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # each replica region has a data key under the same alias (ReplicaKeysStack); DynamoDB takes an alias ARN
        replica_keys = {r: f"arn:{stack.partition}:kms:{r}:{stack.account}:{data_key_alias(config.stage)}"
                        for r in config.replica_regions}
        self.tables: dict[str, ddb.TableV2] = {}
        for spec in specs.values():
            regions = config.replica_regions if spec.global_table else ()
            self.tables[spec.key] = ddb.TableV2(
                self, spec.key, table_name=spec.physical_name(config.stage),
                partition_key=_attr(spec.pk), sort_key=_attr(spec.sk) if spec.sk else None,
                billing=ddb.Billing.on_demand(),
                encryption=ddb.TableEncryptionV2.customer_managed_key(
                    key, replica_key_arns={r: replica_keys[r] for r in regions} or None),
                point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True),
                time_to_live_attribute=spec.ttl_attribute,
                dynamo_stream=ddb.StreamViewType[spec.stream] if spec.stream else None,
                global_secondary_indexes=[ddb.GlobalSecondaryIndexPropsV2(
                    index_name=ix.name, partition_key=_attr(ix.pk), sort_key=_attr(ix.sk) if ix.sk else None)
                    for ix in spec.indexes] or None,
                replicas=[ddb.ReplicaTableProps(region=r) for r in regions] or None,
                deletion_protection=config.retain_data, removal_policy=config.removal)
