"""Orchestration: the incident-response state machine from its ASL file, and the incident event bus."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from incident_commander import names as n
from incident_commander import wiring as w

from .. import nag
from ..config import StageConfig
from .ingestion import ON_FAILURE_REASON
from .observability import Observability

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def asl_placeholders(asl_file: Path) -> set[str]:
    return set(PLACEHOLDER.findall(asl_file.read_text()))


class IncidentWorkflow(Construct):
    """The real ASL (`DefinitionBody.from_file`); the only substitutions are function ARNs."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: w.StateMachineSpec, config: StageConfig,
                 repo: Path, functions: dict[str, lambda_.IFunction], logs_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        asl = repo / spec.asl_file
        missing = asl_placeholders(asl) ^ set(spec.function_arns)
        if missing:
            raise ValueError(f"{spec.asl_file}: placeholders and wiring substitutions differ: {sorted(missing)}")
        name = spec.physical_name(config.stage)
        # /aws/vendedlogs/ keeps CloudWatch Logs' resource policy small when many machines log
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/vendedlogs/states/{name}",
                                       retention=config.log_retention,
                                       encryption_key=logs_key, removal_policy=config.removal)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=name, state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(asl)),
            definition_substitutions={p: functions[f].function_arn for p, f in spec.function_arns.items()},
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True))
        for f in sorted(set(spec.function_arns.values())):
            functions[f].grant_invoke(self.state_machine)
            nag.acknowledge(self.state_machine, nag.wildcard(self, f"{functions[f].function_arn}:*"),
                            "grant_invoke covers the function's versions and aliases (<arn>:*) so a published "
                            "version can be invoked; it names one function")
        nag.acknowledge(self.state_machine, "AwsSolutions-IAM5[Resource::*]",
                        "X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery, PutResourcePolicy, "
                        "DescribeLogGroups...) support no resource-level permissions (Step Functions "
                        "logging guide); " + nag.XRAY)


class IncidentEvents(Construct):
    """The incident event bus: an archive for replay, every event into a log group, escalations to on-call.

    Functions publish with `Ref("bus", ...)` in their environment (grant: events:PutEvents on this bus).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, data_key: kms.IKey,
                 logs_key: kms.IKey, observability: Observability) -> None:
        super().__init__(scope, construct_id)
        # what EventBridge could not deliver, or subscribed functions failed on after their retries
        self.dead_letters = sqs.Queue(self, "DeadLetters", queue_name=config.name("bus-dlq"),
                                      encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                                      retention_period=cdk.Duration.days(14), removal_policy=config.removal)
        nag.acknowledge(self.dead_letters, "AwsSolutions-SQS3", ON_FAILURE_REASON)
        observability.alarm_on_queue_depth(self.dead_letters, "bus-dlq",
                                           "incident events a subscribed function never processed", scope=self)
        self.bus = events.EventBus(self, "Bus", event_bus_name=config.name(n.BUS_INCIDENTS),
                                   kms_key=data_key, description="Incident lifecycle events of the commander")
        self.bus.archive("Archive", archive_name=config.name(n.BUS_INCIDENTS), description="replayable history",
                         event_pattern=events.EventPattern(source=[n.APP]),
                         retention=cdk.Duration.days(365 if config.retain_data else 30))
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/events/{config.name(n.BUS_INCIDENTS)}",
                                       retention=config.log_retention,
                                       encryption_key=logs_key, removal_policy=config.removal)
        # a native resource policy instead of targets.CloudWatchLogGroup, which installs it with a Lambda custom resource
        stack = cdk.Stack.of(self)
        log_group_arn = stack.format_arn(service="logs", resource="log-group",
                                         resource_name=self.log_group.log_group_name,
                                         arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        policy = logs.ResourcePolicy(self, "LogsPolicy", resource_policy_name=config.name("incident-events"),
                                     policy_statements=[iam.PolicyStatement(
                                         principals=[iam.ServicePrincipal("events.amazonaws.com"),
                                                     iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                                         actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                         resources=[self.log_group.log_group_arn])])
        rule = events.Rule(self, "AllToLogs", event_bus=self.bus, rule_name=config.name("incident-events-to-logs"),
                           description="every incident event, searchable in CloudWatch Logs",
                           event_pattern=events.EventPattern(source=[n.APP]))
        rule.add_target(_LogGroupTarget(log_group_arn))
        rule.node.add_dependency(policy)
        self.oncall = sns.Topic(self, "OnCall", topic_name=config.name("oncall"), master_key=data_key,
                                enforce_ssl=True, display_name=f"Incident Commander {config.stage} escalations")
        events.Rule(self, "EscalationsToOnCall", event_bus=self.bus, rule_name=config.name("escalations-to-oncall"),
                    description="escalations waiting for a human -> the on-call topic (subscribe email, chat, pager)",
                    event_pattern=events.EventPattern(source=[n.APP], detail_type=[n.BUS_DETAIL_TYPE_ESCALATION]),
                    targets=[targets.SnsTopic(self.oncall)])


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """An EventBridge target that is a log group (its resource policy is created next to the rule)."""

    def __init__(self, arn: str):
        self.arn = arn

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.arn)
