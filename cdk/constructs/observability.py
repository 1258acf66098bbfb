"""Observability: the alarm topic, alarms on what means the commander itself is unhealthy, and a
CloudWatch dashboard (alerts in, incidents opened, decisions by kind, MTTR, Lambda errors/throttles/
iterator age, Step Functions failures, API errors).

Custom metrics are read with SEARCH (dashboards) and Metrics Insights (the circuit alarm), so they
match whatever extra dimensions an emitter adds (Powertools adds `service`).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from incident_commander import names as n

from ..config import StageConfig

FIVE_MINUTES = cdk.Duration.minutes(5)
DECISIONS = ("auto_remediate", "monitor", "escalate")


def _custom(metric: str, stat: str, label: str, extra: str = "") -> cw.MathExpression:
    """The sum over every emitter of a custom metric (any dimensions)."""
    search = f"SEARCH('{{{n.METRICS_NAMESPACE},service}} MetricName=\"{metric}\" {extra}', '{stat}', 60)"
    return cw.MathExpression(expression=f"SUM({search})" if stat == "Sum" else f"AVG({search})",
                             using_metrics={}, label=label, period=cdk.Duration.minutes(1))


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=config.name("alarms"), master_key=key,
                               enforce_ssl=True, display_name=f"Incident Commander {config.stage} alarms")
        if config.alarm_email:
            self.topic.add_subscription(subs.EmailSubscription(config.alarm_email))
        self.alarms: list[cw.Alarm] = []

    def alarm(self, name: str, metric: cw.IMetric, *, threshold: float, description: str,
              evaluation_periods: int = 1, scope: Construct | None = None) -> cw.Alarm:
        """An alarm named ic-<stage>-<name> that notifies the alarm topic when it fires and when it clears."""
        a = cw.Alarm(scope or self, f"Alarm-{name}", alarm_name=self.config.name(name), metric=metric,
                     threshold=threshold, evaluation_periods=evaluation_periods, alarm_description=description,
                     comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                     treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
        a.add_alarm_action(cw_actions.SnsAction(self.topic))
        a.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(a)
        return a

    def alarm_on_queue_depth(self, queue: sqs.IQueue, name: str, description: str,
                             scope: Construct | None = None) -> cw.Alarm:
        return self.alarm(name, queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=FIVE_MINUTES), threshold=1, description=description, scope=scope)

    def alarm_on_function(self, function, name: str) -> None:
        self.alarm(f"{name}-errors", function.metric_errors(period=FIVE_MINUTES), threshold=5,
                   description=f"{name}: 5 or more errors in 5 minutes")
        self.alarm(f"{name}-throttles", function.metric_throttles(period=FIVE_MINUTES), threshold=1,
                   description=f"{name}: invocations throttled (concurrency limit reached)")

    def alarm_on_state_machine(self, machine, name: str) -> None:
        self.alarm(f"{name}-failed", machine.metric_failed(period=FIVE_MINUTES), threshold=1,
                   description=f"{name}: an incident workflow failed (escalations end in success, so this is a fault)")
        self.alarm(f"{name}-timed-out", machine.metric_timed_out(period=FIVE_MINUTES), threshold=1,
                   description=f"{name}: an incident workflow timed out")

    def alarm_on_circuit(self, dependency: str) -> None:
        query = (f"SELECT MAX({n.METRIC_CIRCUIT_OPEN}) FROM \"{n.METRICS_NAMESPACE}\" "
                 f"WHERE dependency = '{dependency}'")
        self.alarm(f"{dependency}-circuit-open",
                   cw.MathExpression(expression=query, using_metrics={}, period=cdk.Duration.minutes(1)),
                   threshold=1, evaluation_periods=3,
                   description=f"the {dependency} circuit breaker has been open for 3 minutes (diagnosis runs without it)")

    def dashboard(self, *, functions: dict, consumers: dict, streams: dict, machines: dict,
                  apis: dict) -> cw.Dashboard:
        d = cw.Dashboard(self, "Dashboard", dashboard_name=self.config.name("commander"),
                         default_interval=cdk.Duration.hours(3))
        decisions = [_custom(n.METRIC_DECISIONS, "Sum", k, f"decision=\"{k}\"") for k in DECISIONS]
        d.add_widgets(
            cw.GraphWidget(title="Alerts in (per minute)", width=6, left=[
                _custom(n.METRIC_ALERTS_RECEIVED, "Sum", "alerts accepted"),
                *[s.metric_incoming_records(period=cdk.Duration.minutes(1), label=f"{k} records") for k, s in streams.items()]]),
            cw.GraphWidget(title="Incidents opened", width=6, left=[_custom(n.METRIC_INCIDENTS_OPENED, "Sum", "opened")]),
            cw.GraphWidget(title="Decisions by kind", width=6, stacked=True, left=decisions),
            cw.GraphWidget(title="MTTR (seconds)", width=6, left=[_custom(n.METRIC_MTTR_SECONDS, "Average", "mean MTTR")]))
        d.add_widgets(
            cw.GraphWidget(title="Lambda errors", width=8, left=[
                f.metric_errors(period=cdk.Duration.minutes(1), label=k) for k, f in functions.items()]),
            cw.GraphWidget(title="Lambda throttles", width=8, left=[
                f.metric_throttles(period=cdk.Duration.minutes(1), label=k) for k, f in functions.items()]),
            cw.GraphWidget(title="Stream consumer iterator age (ms)", width=8, left=[
                f.metric("IteratorAge", statistic="Maximum", period=cdk.Duration.minutes(1), label=k)
                for k, f in consumers.items()]))
        d.add_widgets(
            cw.GraphWidget(title="Incident workflows", width=12, left=[
                m for k, sm in machines.items() for m in (
                    sm.metric_started(label=f"{k} started"), sm.metric_succeeded(label=f"{k} succeeded"),
                    sm.metric_failed(label=f"{k} failed"), sm.metric_timed_out(label=f"{k} timed out"))]),
            cw.GraphWidget(title="API", width=12, left=[
                m for k, api in apis.items() for m in (
                    api.metric_client_error(label=f"{k} 4xx"), api.metric_server_error(label=f"{k} 5xx"))],
                right=[api.metric_latency(statistic="p99", label=f"{k} p99 ms") for k, api in apis.items()]))
        d.add_widgets(cw.AlarmStatusWidget(title="Alarms", width=24, alarms=self.alarms))
        return d
