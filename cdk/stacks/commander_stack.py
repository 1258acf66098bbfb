"""The Incident Commander stack: a thin composition of one construct per capability."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from incident_commander import names as n
from incident_commander import wiring as w

REPO = w.repo_root()


@dataclass
class StageConfig:
    stage: str
    region: str | None = None
    replica_regions: list[str] = field(default_factory=list)
    architecture: str = "arm64"
    kinesis_shards: int = 0  # 0 = on-demand
    retain_data: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_context(cls, scope: Construct, stage: str) -> StageConfig:
        stages: dict[str, Any] = scope.node.try_get_context("stages") or {}
        c = stages.get(stage, {})
        return cls(stage=stage, region=c.get("region"), replica_regions=list(c.get("replica_regions", [])),
                   architecture=c.get("architecture", "arm64"), kinesis_shards=int(c.get("kinesis_shards", 0)),
                   retain_data=bool(c.get("retain_data", stage == "prod")), env=dict(c.get("env", {})))


class IncidentCommanderStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        stage = config.stage
        removal = cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        cdk.Tags.of(self).add("app", n.APP)
        cdk.Tags.of(self).add("stage", stage)

        # --- data -----------------------------------------------------------------------------------
        self.tables: dict[str, ddb.TableV2] = {}
        for spec in w.TABLES.values():
            self.tables[spec.key] = self._table(spec, removal)

        # --- ingestion ------------------------------------------------------------------------------
        self.streams = {s.key: kinesis.Stream(
            self, f"Stream-{s.key}", stream_name=s.physical_name(stage),
            stream_mode=kinesis.StreamMode.ON_DEMAND if config.kinesis_shards == 0 else kinesis.StreamMode.PROVISIONED,
            shard_count=config.kinesis_shards or None, encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=cdk.Duration.hours(24)) for s in w.STREAMS.values()}
        self.queues = {q.key: sqs.Queue(self, f"Queue-{q.key}", queue_name=q.physical_name(stage),
                                        encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                                        retention_period=cdk.Duration.days(14)) for q in w.QUEUES.values()}

        # --- functions ------------------------------------------------------------------------------
        self.layer = lambda_.LayerVersion(
            self, "CommonLayer", code=lambda_.Code.from_asset(str(REPO / "layers" / "common"), exclude=[
                "**/__pycache__", "python/incident_commander/local/**"]),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            description="incident_commander domain package and its dependencies")
        arch = lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        sm_name = w.STATE_MACHINE.physical_name(stage)
        sm_arn = cdk.Stack.of(self).format_arn(service="states", resource="stateMachine", resource_name=sm_name,
                                               arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        self.functions: dict[str, lambda_.Function] = {}
        for spec in w.FUNCTIONS.values():
            env = {k: self._resolve(v, sm_arn) for k, v in spec.env.items()}
            env[n.ENV_STAGE] = stage
            env.update(config.env)
            fn = lambda_.Function(
                self, f"Fn-{spec.key}", function_name=spec.physical_name(stage), runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=arch, handler=spec.handler, code=lambda_.Code.from_asset(str(REPO / spec.code_dir)),
                layers=[self.layer], memory_size=spec.memory_mb, timeout=cdk.Duration.seconds(spec.timeout_s),
                environment=env, description=spec.description, tracing=lambda_.Tracing.ACTIVE,
                log_retention=logs.RetentionDays.ONE_MONTH)
            self.functions[spec.key] = fn
            for table in self.tables.values():
                table.grant_read_write_data(fn)

        for c in w.STREAM_CONSUMERS:
            fn = self.functions[c.function]
            fn.add_event_source(sources.KinesisEventSource(
                self.streams[c.stream], starting_position=lambda_.StartingPosition[c.starting_position],
                batch_size=c.batch_size, max_batching_window=cdk.Duration.seconds(c.max_batching_window_s),
                parallelization_factor=c.parallelization_factor, bisect_batch_on_error=c.bisect_on_error,
                max_record_age=cdk.Duration.seconds(c.max_record_age_s), retry_attempts=c.retry_attempts,
                report_batch_item_failures=c.report_batch_item_failures,
                on_failure=sources.SqsDlq(self.queues[c.on_failure_queue])))
        self.streams[n.S_ALERTS].grant_write(self.functions[n.F_API])

        # --- orchestration --------------------------------------------------------------------------
        sm_logs = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH,
                                removal_policy=removal)
        self.state_machine = sfn.StateMachine(
            self, "IncidentResponse", state_machine_name=sm_name, state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(REPO / w.STATE_MACHINE.asl_file)),
            definition_substitutions={p: self.functions[f].function_arn for p, f in w.STATE_MACHINE.function_arns.items()},
            tracing_enabled=True, logs=sfn.LogOptions(destination=sm_logs, level=sfn.LogLevel.ALL))
        for f in set(w.STATE_MACHINE.function_arns.values()):
            self.functions[f].grant_invoke(self.state_machine)
        self.state_machine.grant_start_execution(self.functions[n.F_DETECTION])
        self.state_machine.grant_task_response(self.functions[n.F_API])
        self.state_machine.grant_read(self.functions[n.F_API])

        # --- API --------------------------------------------------------------------------------------
        self.api = apigw.LambdaRestApi(
            self, "Api", handler=self.functions[n.F_API], rest_api_name=f"ic-{stage}-api",
            deploy_options=apigw.StageOptions(stage_name=stage, tracing_enabled=True,
                                              throttling_rate_limit=200, throttling_burst_limit=400))
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)

    def _table(self, spec: w.TableSpec, removal: cdk.RemovalPolicy) -> ddb.TableV2:
        def attr(k: w.Key) -> ddb.Attribute:
            return ddb.Attribute(name=k.name, type=ddb.AttributeType.STRING if k.type == "S" else ddb.AttributeType.NUMBER)

        replicas = [ddb.ReplicaTableProps(region=r) for r in self.config.replica_regions] if spec.global_table else []
        return ddb.TableV2(
            self, f"Table-{spec.key}", table_name=spec.physical_name(self.config.stage),
            partition_key=attr(spec.pk), sort_key=attr(spec.sk) if spec.sk else None,
            billing=ddb.Billing.on_demand(), point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute=spec.ttl_attribute,
            dynamo_stream=ddb.StreamViewType[spec.stream] if spec.stream else None,
            global_secondary_indexes=[ddb.GlobalSecondaryIndexPropsV2(
                index_name=ix.name, partition_key=attr(ix.pk), sort_key=attr(ix.sk) if ix.sk else None)
                for ix in spec.indexes] or None,
            replicas=replicas or None, deletion_protection=self.config.retain_data, removal_policy=removal)

    def _resolve(self, value: str | w.Ref, sm_arn: str) -> str:
        if isinstance(value, str):
            return value
        if value.kind == "table":
            return self.tables[value.key].table_name
        if value.kind == "stream":
            return self.streams[value.key].stream_name
        if value.kind == "state_machine":
            return sm_arn
        if value.kind == "queue":
            return self.queues[value.key].queue_url
        raise ValueError(f"cannot resolve {value}")
