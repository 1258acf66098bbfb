"""A stream consumer: the event source mapping with the settings every consumer must carry.

One construct for Kinesis streams (`wiring.StreamConsumerSpec`) and DynamoDB table streams
(`wiring.TableStreamConsumerSpec`): batch size, batching window, parallelization factor, bisect on
error, maximum record age, retry cap, ReportBatchItemFailures and an on-failure SQS destination, plus
the alarms that say the consumer is falling behind or giving up on records. Lambda sends the
on-failure queue a record's *metadata* (shard, sequence numbers), not its data: a redrive reads the
data back from the stream while it is retained (24 h).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from incident_commander import wiring as w

from .observability import Observability

ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000  # the consumer is five minutes behind the newest record


class StreamConsumer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 spec: w.StreamConsumerSpec | w.TableStreamConsumerSpec, function: lambda_.Function,
                 source: kinesis.IStream | ddb.ITable, on_failure: sqs.IQueue, observability: Observability) -> None:
        super().__init__(scope, construct_id)
        settings = dict(
            starting_position=lambda_.StartingPosition[spec.starting_position], batch_size=spec.batch_size,
            max_batching_window=cdk.Duration.seconds(spec.max_batching_window_s),
            parallelization_factor=getattr(spec, "parallelization_factor", 1),
            bisect_batch_on_error=spec.bisect_on_error, max_record_age=cdk.Duration.seconds(spec.max_record_age_s),
            retry_attempts=spec.retry_attempts, report_batch_item_failures=spec.report_batch_item_failures,
            on_failure=sources.SqsDlq(on_failure))
        if isinstance(spec, w.TableStreamConsumerSpec):
            origin = spec.table
            self.source = sources.DynamoEventSource(source, filters=[lambda_.FilterCriteria.filter(
                {"eventName": lambda_.FilterRule.or_(*spec.event_names)})] if spec.event_names else None, **settings)
        else:
            origin = spec.stream
            self.source = sources.KinesisEventSource(source, **settings)
        function.add_event_source(self.source)
        name = f"{spec.function}-{origin}".replace("_", "-")
        self.iterator_age_alarm = observability.alarm(
            f"{name}-iterator-age", function.metric("IteratorAge", statistic="Maximum", period=cdk.Duration.minutes(1)),
            threshold=ITERATOR_AGE_ALARM_MS, evaluation_periods=5,
            description=f"{spec.function} is more than five minutes behind the {origin} stream", scope=self)
        self.on_failure_alarm = observability.alarm_on_queue_depth(
            on_failure, f"{name}-failures", f"{spec.function} gave up on records of the {origin} stream "
            f"(their positions are in {spec.on_failure_queue})", scope=self)
