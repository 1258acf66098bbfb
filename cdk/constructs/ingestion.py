"""Ingestion: the Kinesis streams and queues of the wiring, and CloudWatch alarm state changes
routed by EventBridge straight onto the alert stream (the detection agent decodes them as they are)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from incident_commander import names as n
from incident_commander import wiring as w

from .. import nag
from ..config import StageConfig
from .observability import Observability

ON_FAILURE_REASON = ("this queue is itself the failure destination (Lambda on-failure destination or EventBridge "
                     "target DLQ); its depth is alarmed and the records are redriven from it, so it has no DLQ of its own")


class Streams(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 streams: dict[str, w.StreamSpec], queues: dict[str, w.QueueSpec], key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        provisioned = config.kinesis_shards > 0
        self.streams = {s.key: kinesis.Stream(
            self, f"Stream-{s.key}", stream_name=s.physical_name(config.stage),
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=config.kinesis_shards if provisioned else None,
            encryption=kinesis.StreamEncryption.KMS, encryption_key=key,
            retention_period=cdk.Duration.hours(24), removal_policy=config.removal) for s in streams.values()}
        for stream in self.streams.values():
            nag.acknowledge(stream, "AwsSolutions-KDS3",
                            "encrypted with this stack's customer-managed key instead of aws/kinesis: its key policy "
                            "is ours to scope and every use is in CloudTrail; rotation is on")
        self.queues: dict[str, sqs.Queue] = {}
        for q in queues.values():
            queue = sqs.Queue(self, f"Queue-{q.key}", queue_name=q.physical_name(config.stage),
                              encryption=sqs.QueueEncryption.KMS, encryption_master_key=key, enforce_ssl=True,
                              retention_period=cdk.Duration.days(14), removal_policy=config.removal)
            nag.acknowledge(queue, "AwsSolutions-SQS3", ON_FAILURE_REASON)
            self.queues[q.key] = queue


class AlarmEventsToStream(Construct):
    """EventBridge rule: every CloudWatch alarm state change in this account and region -> the alert stream.

    The commander's own alarms (named ic-<stage>-...) are left out: they page its operators through the
    alarm topic, and an unhealthy pipeline should not be asked to diagnose itself.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, stream: kinesis.IStream,
                 observability: Observability) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(self, "DeadLetters", queue_name=config.name("alarm-events-dlq"),
                                      encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                                      retention_period=cdk.Duration.days(14), removal_policy=config.removal)
        nag.acknowledge(self.dead_letters, "AwsSolutions-SQS3", ON_FAILURE_REASON)
        observability.alarm_on_queue_depth(self.dead_letters, "alarm-events-dlq",
                                           "CloudWatch alarm events that EventBridge could not put on the stream",
                                           scope=self)
        self.rule = events.Rule(
            self, "Rule", rule_name=config.name("alarm-state-changes"),
            description="CloudWatch alarm state changes -> the alert stream (detection decodes them)",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"], detail_type=[n.EVENTBRIDGE_DETAIL_TYPE_ALARM],
                detail={"alarmName": [{"anything-but": {"prefix": f"ic-{config.stage}-"}}]}))
        self.rule.add_target(targets.KinesisStream(
            stream, partition_key_path="$.detail.alarmName", dead_letter_queue=self.dead_letters,
            retry_attempts=185, max_event_age=cdk.Duration.hours(24)))
        role = stream.node.find_child("EventsRole")  # created by the target, holds kinesis:PutRecord(s) + KMS
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            nag.acknowledge(role, f"AwsSolutions-IAM5[Action::{action}]", nag.KMS_FAMILY)
