"""S3: the wired buckets (versioned, KMS-encrypted, private, TLS only) and the access-log bucket they
and the dashboard log into."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from incident_commander import wiring as w

from .. import nag
from ..config import StageConfig


class AccessLogs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # SSE-S3: S3 server access logging cannot write to a KMS-encrypted bucket
        self.bucket = s3.Bucket(
            self, "Bucket", encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront standard logs write with ACLs
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(config.log_retention_days))],
            removal_policy=config.removal)
        nag.acknowledge(self.bucket, "AwsSolutions-S1",
                        "this is the access-log bucket of the other buckets and the distribution; logging it "
                        "into itself would loop")


class Buckets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, specs: dict[str, w.BucketSpec],
                 key: kms.IKey, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.buckets: dict[str, s3.Bucket] = {}
        for spec in specs.values():
            # no bucket_name: names are global, CloudFormation makes this one unique
            bucket = s3.Bucket(
                self, spec.key, encryption=s3.BucketEncryption.KMS, encryption_key=key, bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
                server_access_logs_bucket=access_logs, server_access_logs_prefix=f"s3-{spec.key}/",
                lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(30))],
                removal_policy=config.removal)
            cdk.Tags.of(bucket).add("ic:bucket", spec.key)
            self.buckets[spec.key] = bucket
