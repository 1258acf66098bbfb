"""Customer-managed KMS keys: one for data (tables, stream, queues, secrets, topics, search), one for logs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..config import StageConfig


def data_key_alias(stage: str) -> str:
    """The data key's alias; replica regions create a key under the same alias (ReplicaKeysStack)."""
    return f"alias/ic-{stage}-data"


def data_key(scope: Construct, config: StageConfig, description: str) -> kms.Key:
    return kms.Key(scope, "Data", alias=data_key_alias(config.stage), description=description,
                   enable_key_rotation=True, removal_policy=config.removal,
                   pending_window=cdk.Duration.days(30 if config.retain_data else 7))


class Keys(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.data = data_key(self, config, f"Incident Commander {config.stage}: data at rest")
        # CloudWatch alarms of this account publish to the encrypted alarm topic
        self.data.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}}))
        self.logs = kms.Key(self, "Logs", alias=f"alias/ic-{config.stage}-logs", enable_key_rotation=True,
                            description=f"Incident Commander {config.stage}: CloudWatch log groups",
                            removal_policy=config.removal,
                            pending_window=cdk.Duration.days(30 if config.retain_data else 7))
        # CloudWatch Logs encrypts with the key only for log groups of this account and region
        self.logs.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy '*' means this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                    f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"}}))


class ReplicaKeysStack(cdk.Stack):
    """The data key of one replica region: a global table's replica there is encrypted with it.

    Deployed before the main stack (a stack dependency); the main stack names the key by its alias
    ARN, which DynamoDB accepts, so no cross-region reference is needed.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = data_key(self, config, f"Incident Commander {config.stage}: replica data at rest")
