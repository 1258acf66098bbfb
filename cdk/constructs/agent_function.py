"""One agent function: its own role, its own encrypted log group, the shared layer, X-Ray, and an
environment resolved from the wiring. Permissions are added later from the same environment
(`Resources.grant`), so the role holds exactly what the function's `Ref`s say."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from incident_commander import names as n
from incident_commander import wiring as w

from .. import nag
from ..config import StageConfig
from .resources import Resources

GEO_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")


class AgentFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: w.FunctionSpec, config: StageConfig,
                 repo: Path, layer: lambda_.ILayerVersion, runtime: lambda_.Runtime,
                 architecture: lambda_.Architecture, resources: Resources, logs_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.name = name = spec.physical_name(config.stage)
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{name}",
                                       retention=config.log_retention,
                                       encryption_key=logs_key, removal_policy=config.removal)
        # an explicit role: no AWSLambdaBasicExecutionRole (it may write to any log group in the account)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"{name}: what its environment references, nothing else")
        self.log_group.grant_write(self.role)
        env = {k: resources.resolve(v) for k, v in spec.env.items()}
        env[n.ENV_STAGE] = config.stage
        self.replica_regions = tuple(config.replica_regions) if self._global_tables() else ()
        if self.replica_regions:  # reads fail over to, and repairs read from, the replicas (store/replicas)
            env[n.ENV_REPLICA_REGIONS] = json.dumps(list(self.replica_regions))
        env.update(config.env)
        self.function = lambda_.Function(
            self, "Function", function_name=name, description=spec.description, role=self.role,
            runtime=runtime, architecture=architecture, handler=spec.handler,
            code=lambda_.Code.from_asset(str(repo / spec.code_dir), exclude=["__pycache__", "*.pyc"]),
            layers=[layer], memory_size=spec.memory_mb, timeout=cdk.Duration.seconds(spec.timeout_s),
            environment=env, tracing=lambda_.Tracing.ACTIVE, log_group=self.log_group)
        nag.acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", nag.XRAY)
        nag.acknowledge(self.function, "AwsSolutions-L1",
                        f"the runtime is pinned per stage (cdk.json stages.<stage>.python, here {config.python}) to "
                        "the version the layer's wheels and .pyc are built for; it is a supported Lambda runtime, "
                        "and moving to a newer one is a context change plus a test run, not a silent upgrade")
        if spec.bedrock_models:
            self._grant_models(spec.bedrock_models)
        if spec.schedule:
            self.schedule = events.Rule(self, "Schedule", rule_name=f"{name}-schedule",
                                        description=f"invokes {name} on {spec.schedule}",
                                        schedule=events.Schedule.expression(spec.schedule))
            self.schedule.add_target(targets.LambdaFunction(self.function, retry_attempts=0))

    def _grant_models(self, model_ids: tuple[str, ...]) -> None:
        """bedrock:InvokeModel (Converse uses it too) on exactly these models; a cross-region inference
        profile (us./eu./apac./global. prefix) also needs its underlying model in the regions it routes to."""
        stack = cdk.Stack.of(self)
        resources = []
        for model in model_ids:
            geo, _, base = model.partition(".")
            if geo in GEO_PREFIXES and base:
                resources.append(f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{model}")
                wildcard = f"arn:{stack.partition}:bedrock:*::foundation-model/{base}"
                resources.append(wildcard)
                nag.acknowledge(self.role, nag.wildcard(self, wildcard),
                                f"inference profile {model} routes each call to any region of its geography; "
                                "the model is fixed, only the region is open (Bedrock cross-region inference guide)")
            else:
                resources.append(f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model}")
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], resources=resources))

    def subscribe(self, bus: events.IEventBus, dead_letters: sqs.IQueue) -> events.Rule:
        """Invoke the function on its `bus_events` (incident events of this app on the bus).

        EventBridge retries delivery for a day and Lambda retries a failed invocation twice; what still
        fails lands in `dead_letters` (alarmed) instead of being dropped."""
        rule = events.Rule(self, "BusRule", event_bus=bus, rule_name=f"{self.name}-events",
                           description=f"{', '.join(self.spec.bus_events)} -> {self.spec.key}",
                           event_pattern=events.EventPattern(source=[n.APP], detail_type=list(self.spec.bus_events)))
        rule.add_target(targets.LambdaFunction(self.function, dead_letter_queue=dead_letters,
                                               max_event_age=cdk.Duration.hours(24), retry_attempts=185))
        self.function.configure_async_invoke(retry_attempts=2, on_failure=destinations.SqsDestination(dead_letters))
        return rule

    def grant_from_environment(self, resources: Resources) -> None:
        """Grant exactly what the environment references (`Ref.access`, else the kind's default)."""
        for value in self.spec.env.values():
            if isinstance(value, w.Ref):
                resources.grant(value, self.role)
                self._acknowledge_grant_wildcards(value, resources)
                if value.kind == "table" and w.TABLES[value.key].global_table:
                    for region in self.replica_regions:  # the same access on each replica of the table
                        replica = resources.replica(value.key, region)
                        for access in value.access or ("read_write",):
                            {"read": replica.grant_read_data, "write": replica.grant_write_data,
                             "read_write": replica.grant_read_write_data}[access](self.role)
                        if w.TABLES[value.key].indexes:
                            nag.acknowledge(self.role, nag.wildcard(self, f"{replica.table_arn}/index/*"), nag.INDEX)

    def _global_tables(self) -> bool:
        return any(isinstance(v, w.Ref) and v.kind == "table" and w.TABLES[v.key].global_table
                   for v in self.spec.env.values())

    def _acknowledge_grant_wildcards(self, ref: w.Ref, resources: Resources) -> None:
        if ref.kind == "table" and any(s.indexes for s in w.TABLES.values() if s.key == ref.key):
            nag.acknowledge(self.role, nag.wildcard(self, f"{resources.tables[ref.key].table_arn}/index/*"),
                            nag.INDEX)
        if ref.kind == "bucket":  # grant_read/grant_read_write: S3 action families on the bucket's objects
            for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
                nag.acknowledge(self.role, f"AwsSolutions-IAM5[Action::{action}]", nag.S3_FAMILY)
            nag.acknowledge(self.role, nag.wildcard(self, f"{resources.buckets[ref.key].bucket_arn}/*"), nag.S3_FAMILY)
        if ref.kind in ("table", "stream", "queue", "secret", "bus", "collection", "bucket"):
            for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
                nag.acknowledge(self.role, f"AwsSolutions-IAM5[Action::{action}]", nag.KMS_FAMILY)
