"""Search: an OpenSearch Serverless vector collection for the diagnosis memory.

Encryption with the stack's customer-managed data key, a network policy, and a data-access policy
whose principals are exactly the roles granted through `grant_read_write` (functions with a
`Ref("collection", ...)` in their environment). The network policy allows the public endpoint
because the functions run outside a VPC; every request still needs SigV4 from an allowed role.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct
from incident_commander import wiring as w

from ..config import StageConfig

INDEX_PERMISSIONS = ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex", "aoss:ReadDocument",
                     "aoss:WriteDocument"]


class VectorCollection(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: w.CollectionSpec, config: StageConfig,
                 key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.name = spec.physical_name(config.stage)
        resource = [f"collection/{self.name}"]
        stack = cdk.Stack.of(self)
        encryption = aoss.CfnSecurityPolicy(
            self, "Encryption", name=f"{self.name}-enc", type="encryption", description="customer-managed key",
            policy=stack.to_json_string({"Rules": [{"ResourceType": "collection", "Resource": resource}],
                                         "AWSOwnedKey": False, "KmsARN": key.key_arn}))
        network = aoss.CfnSecurityPolicy(
            self, "Network", name=f"{self.name}-net", type="network",
            description="public endpoint (functions run outside a VPC); SigV4 + the data policy still apply",
            policy=json.dumps([{"Rules": [{"ResourceType": "collection", "Resource": resource}],
                                "AllowFromPublic": True}]))
        self.collection = aoss.CfnCollection(
            self, "Collection", name=self.name, type="VECTORSEARCH",
            description="incident memory: past incidents and runbooks, embedded",
            standby_replicas="ENABLED" if config.search_standby_replicas else "DISABLED")
        self.collection.node.add_dependency(encryption, network)  # policies must exist first
        self.collection.apply_removal_policy(config.removal)
        self.arn = self.collection.attr_arn
        self.endpoint = self.collection.attr_collection_endpoint
        self.principals: list[str] = []

    def grant_read_write(self, role: iam.IRole) -> None:
        self.principals.append(role.role_arn)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[self.arn]))

    def finish(self) -> None:
        """After every grant: the data-access policy, scoped to exactly the granted roles."""
        if not self.principals:
            cdk.Annotations.of(self).add_warning_v2(
                "ic:collection-unused", f"no function references collection {self.name}: no data access policy")
            return
        self.access = aoss.CfnAccessPolicy(
            self, "Access", name=f"{self.name}-data", type="data",
            description="read/write on this collection's indexes, for the functions that reference it",
            policy=cdk.Stack.of(self).to_json_string([{
                "Rules": [{"ResourceType": "index", "Resource": [f"index/{self.name}/*"],
                           "Permission": INDEX_PERMISSIONS},
                          {"ResourceType": "collection", "Resource": [f"collection/{self.name}"],
                           "Permission": ["aoss:DescribeCollectionItems"]}],
                "Principal": self.principals}]))
