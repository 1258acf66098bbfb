"""The Incident Commander stack: a thin composition of one construct per capability, built from the wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from incident_commander import names as n
from incident_commander import wiring as w

from ..config import StageConfig
from ..constructs.agent_function import AgentFunction
from ..constructs.api import Api
from ..constructs.auth import Users
from ..constructs.data import DataTables
from ..constructs.ingestion import AlarmEventsToStream, Streams
from ..constructs.keys import Keys
from ..constructs.layer import CommonLayer
from ..constructs.observability import Observability
from ..constructs.orchestration import IncidentEvents, IncidentWorkflow
from ..constructs.resources import Resources
from ..constructs.search import VectorCollection
from ..constructs.secrets import Secrets
from ..constructs.storage import AccessLogs, Buckets
from ..constructs.stream_consumer import StreamConsumer
from ..constructs.web import DashboardSite

RUNTIMES = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13,
            "3.14": lambda_.Runtime.PYTHON_3_14}


class IncidentCommanderStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, repo: Path | None = None,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        repo = repo or w.repo_root()
        cdk.Tags.of(self).add("app", n.APP)
        cdk.Tags.of(self).add("stage", config.stage)

        keys = Keys(self, "Keys", config=config)
        obs = Observability(self, "Observability", config=config, key=keys.data)
        res = Resources()
        res.tables = DataTables(self, "Data", config=config, specs=w.TABLES, key=keys.data).tables
        ingestion = Streams(self, "Ingestion", config=config, streams=w.STREAMS, queues=w.QUEUES, key=keys.data)
        res.streams, res.queues = ingestion.streams, ingestion.queues
        AlarmEventsToStream(self, "AlarmEvents", config=config, stream=res.streams[n.S_ALERTS], observability=obs)
        access_logs = AccessLogs(self, "AccessLogs", config=config).bucket
        res.buckets = Buckets(self, "Storage", config=config, specs=w.BUCKETS, key=keys.data,
                              access_logs=access_logs).buckets
        res.secrets = Secrets(self, "Secrets", config=config, specs=w.SECRETS, key=keys.data).secrets
        incident_events = IncidentEvents(self, "IncidentEvents", config=config, data_key=keys.data, logs_key=keys.logs,
                                         observability=obs)
        res.buses[n.BUS_INCIDENTS] = incident_events.bus
        res.collections = {c.key: VectorCollection(self, f"Search-{c.key}", spec=c, config=config, key=keys.data)
                           for c in w.COLLECTIONS.values()}
        sm_name = w.STATE_MACHINE.physical_name(config.stage)
        res.state_machine_arns[w.STATE_MACHINE.key] = self.format_arn(
            service="states", resource="stateMachine", resource_name=sm_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)

        # --- functions: one construct per agent, all from the wiring --------------------------------
        runtime = RUNTIMES[config.python]
        arch = lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        layer = CommonLayer(self, "CommonLayer", config=config, repo=repo, runtime=runtime, architecture=arch).layer
        self.agents = {spec.key: AgentFunction(self, f"Fn-{spec.key}", spec=spec, config=config, repo=repo,
                                               layer=layer, runtime=runtime, architecture=arch, resources=res,
                                               logs_key=keys.logs)
                       for spec in w.FUNCTIONS.values()}
        functions = {k: a.function for k, a in self.agents.items()}
        consumers = {}
        for c in w.STREAM_CONSUMERS:
            StreamConsumer(self, f"Consumer-{c.function}-{c.stream}", spec=c, function=functions[c.function],
                           source=res.streams[c.stream], on_failure=res.queues[c.on_failure_queue], observability=obs)
            consumers[f"{c.function}<-{c.stream}"] = functions[c.function]
        for t in w.TABLE_STREAM_CONSUMERS:
            StreamConsumer(self, f"Consumer-{t.function}-{t.table}", spec=t, function=functions[t.function],
                           source=res.tables[t.table], on_failure=res.queues[t.on_failure_queue], observability=obs)
            consumers[f"{t.function}<-{t.table}"] = functions[t.function]
        for agent in self.agents.values():
            if agent.spec.bus_events:
                agent.subscribe(incident_events.bus, incident_events.dead_letters)

        # --- orchestration ------------------------------------------------------------------------------
        workflow = IncidentWorkflow(self, "Workflow", spec=w.STATE_MACHINE, config=config, repo=repo,
                                    functions=functions, logs_key=keys.logs)
        self.state_machine = res.state_machines[w.STATE_MACHINE.key] = workflow.state_machine
        for agent in self.agents.values():
            agent.grant_from_environment(res)
            obs.alarm_on_function(agent.function, agent.spec.key.replace("_", "-"))
        for collection in res.collections.values():
            collection.finish()

        # --- API and web ----------------------------------------------------------------------------
        site = DashboardSite(self, "Dashboard", config=config, access_logs=access_logs)
        users = Users(self, "Users", config=config,
                      callback_urls=[f"{site.url}/", *config.dashboard_callback_urls])
        self.api = Api(self, "Api", config=config, function=functions[n.F_API], user_pool=users.pool,
                       allowed_origins=[site.url, *config.dashboard_callback_urls], logs_key=keys.logs)
        # the dashboard's config.json (its format: local/dashboard/app.js)
        site.deploy_files(repo, {"api": self.api.human.url, "auth": "cognito", "cognito": {
            "domain": users.domain.base_url(), "clientId": users.client.user_pool_client_id,
            "redirectUri": f"{site.url}/"}})

        # --- observability ------------------------------------------------------------------------------
        obs.alarm_on_state_machine(self.state_machine, w.STATE_MACHINE.key)
        obs.alarm_on_circuit("bedrock")
        obs.dashboard(functions=functions, consumers=consumers, streams=res.streams,
                      machines={w.STATE_MACHINE.key: self.state_machine},
                      apis={"human": self.api.human, "machine": self.api.machine})

        for name, value, what in (
                ("ApiUrl", self.api.human.url, "human API (Cognito); webhooks at <ApiUrl>alerts/{source}"),
                ("MachineApiUrl", self.api.machine.url, "machine API (IAM SigV4)"),
                ("MachineInvokePolicyArn", self.api.machine_policy.managed_policy_arn, "attach to machine roles"),
                ("DashboardUrl", site.url, "the dashboard (CloudFront)"),
                ("UserPoolId", users.pool.user_pool_id, "add people here; groups viewer/responder/admin"),
                ("UserPoolClientId", users.client.user_pool_client_id, "the dashboard's Cognito client"),
                ("WebhookSecretArn", res.secrets[n.SECRET_WEBHOOK_TOKENS].secret_arn, "per-source webhook tokens"),
                ("StateMachineArn", self.state_machine.state_machine_arn, "incident workflows"),
                ("AlarmTopicArn", obs.topic.topic_arn, "subscribe to the commander's own alarms"),
                ("OnCallTopicArn", incident_events.oncall.topic_arn, "subscribe on-call people to escalations")):
            cdk.CfnOutput(self, name, value=value, description=what)
