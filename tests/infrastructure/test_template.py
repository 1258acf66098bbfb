"""Assertions on the synthesised templates for what a security review and an operator rely on:
encryption everywhere, PITR, replicas, retained data in prod, the stream consumer settings,
an authorizer on every route, log retention, alarms, least privilege, WAF, names and tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from incident_commander import names as n
from incident_commander import wiring as w

from .conftest import REGION

STAGE_CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json")
                           .read_text())["context"]["stages"]


def refs(value: Any) -> set[str]:
    """Logical ids a (resolved) CloudFormation value points at."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for v in value.values():
            found |= refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= refs(v)
    return found


def by_name(synth, kind: str, prop: str) -> dict[str, str]:
    """physical name -> logical id."""
    return {r["Properties"][prop]: k for k, r in synth.resources(kind).items() if prop in r["Properties"]}


@pytest.fixture(params=["dev", "prod"])
def stage(request, synths):
    return synths[request.param]


# --- encryption everywhere ---------------------------------------------------------------------------
def test_every_data_store_is_encrypted_with_a_customer_managed_key(stage):
    keys = set(stage.resources("AWS::KMS::Key"))
    assert keys and all(r["Properties"]["EnableKeyRotation"] for r in stage.resources("AWS::KMS::Key").values())
    for t in stage.resources("AWS::DynamoDB::GlobalTable").values():
        assert t["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        home = [r for r in t["Properties"]["Replicas"] if r["Region"] == REGION]
        assert refs(home[0]["SSESpecification"]["KMSMasterKeyId"]) <= keys
    for s in stage.resources("AWS::Kinesis::Stream").values():
        enc = s["Properties"]["StreamEncryption"]
        assert enc["EncryptionType"] == "KMS" and refs(enc["KeyId"]) <= keys
    for kind, prop in (("AWS::SNS::Topic", "KmsMasterKeyId"), ("AWS::SecretsManager::Secret", "KmsKeyId"),
                       ("AWS::Logs::LogGroup", "KmsKeyId"), ("AWS::Events::EventBus", "KmsKeyIdentifier")):
        for k, r in stage.resources(kind).items():
            assert refs(r["Properties"].get(prop)) & keys, f"{kind} {k} is not encrypted with our key"
    for k, q in stage.resources("AWS::SQS::Queue").items():
        p = q["Properties"]
        assert refs(p.get("KmsMasterKeyId")) & keys or p.get("SqsManagedSseEnabled") is True, k
    for k, b in stage.resources("AWS::S3::Bucket").items():
        assert b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"], k
        assert b["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    (enc,) = [p for p in stage.resources("AWS::OpenSearchServerless::SecurityPolicy").values()
              if p["Properties"]["Type"] == "encryption"]
    assert '"AWSOwnedKey":false' in json.dumps(enc["Properties"]["Policy"]).replace(" ", "").replace('\\"', '"')


def test_every_wired_queue_is_encrypted_with_the_data_key_and_requires_tls(stage):
    names = by_name(stage, "AWS::SQS::Queue", "QueueName")
    for q in w.QUEUES.values():
        logical = names[q.physical_name(stage.stage)]
        assert "KmsMasterKeyId" in stage.template["Resources"][logical]["Properties"]
        policies = [p for p in stage.resources("AWS::SQS::QueuePolicy").values() if logical in refs(p["Properties"]["Queues"])]
        denies = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


# --- data: PITR, TTL, replicas, deletion protection, retention ---------------------------------------
def test_tables_have_pitr_ttl_and_the_configured_replicas(stage):
    cfg = STAGE_CONTEXT[stage.stage]
    tables = {r["Properties"]["TableName"]: r for r in stage.resources("AWS::DynamoDB::GlobalTable").values()}
    for spec in w.TABLES.values():
        t = tables[spec.physical_name(stage.stage)]
        regions = {r["Region"] for r in t["Properties"]["Replicas"]}
        expected = {REGION, *cfg["replica_regions"]} if spec.global_table else {REGION}
        assert regions == expected, spec.key
        for replica in t["Properties"]["Replicas"]:
            assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
            assert replica.get("DeletionProtectionEnabled", False) is cfg["retain_data"]
            if replica["Region"] != REGION:  # replicas are encrypted with that region's data key (by alias)
                assert f":kms:{replica['Region']}:" in json.dumps(replica["SSESpecification"])
                assert f"alias/ic-{stage.stage}-data" in json.dumps(replica["SSESpecification"])
        assert t["Properties"]["TimeToLiveSpecification"]["AttributeName"] == spec.ttl_attribute
        assert t["DeletionPolicy"] == ("Retain" if cfg["retain_data"] else "Delete")


def test_prod_keeps_its_data_and_dev_cleans_up(prod, dev):
    for synth, policy in ((prod, "Retain"), (dev, "Delete")):
        for kind in ("AWS::DynamoDB::GlobalTable", "AWS::KMS::Key", "AWS::Kinesis::Stream", "AWS::SQS::Queue",
                     "AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::Cognito::UserPool", "AWS::SecretsManager::Secret",
                     "AWS::OpenSearchServerless::Collection"):
            for k, r in synth.resources(kind).items():
                assert r.get("DeletionPolicy") == policy, f"{synth.stage}: {kind} {k}"


def test_prod_replica_regions_get_their_own_key_stack(prod):
    for region in STAGE_CONTEXT["prod"]["replica_regions"]:
        path = prod.templates[f"IncidentCommander-prod-keys-{region}"]
        t = json.loads(path.read_text())
        aliases = [r["Properties"]["AliasName"] for r in t["Resources"].values() if r["Type"] == "AWS::KMS::Alias"]
        assert aliases == ["alias/ic-prod-data"]


# --- ingestion ------------------------------------------------------------------------------------------
def test_every_stream_consumer_carries_the_wired_settings(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    streams = by_name(stage, "AWS::Kinesis::Stream", "Name")
    queues = by_name(stage, "AWS::SQS::Queue", "QueueName")
    tables = by_name(stage, "AWS::DynamoDB::GlobalTable", "TableName")
    esms = list(stage.resources("AWS::Lambda::EventSourceMapping").values())
    assert len(esms) == len(w.STREAM_CONSUMERS) + len(w.TABLE_STREAM_CONSUMERS)
    for c in (*w.STREAM_CONSUMERS, *w.TABLE_STREAM_CONSUMERS):
        source = (streams[w.STREAMS[c.stream].physical_name(stage.stage)] if isinstance(c, w.StreamConsumerSpec)
                  else tables[w.TABLES[c.table].physical_name(stage.stage)])
        (p,) = [e["Properties"] for e in esms if refs(e["Properties"]["FunctionName"]) ==
                {fns[w.FUNCTIONS[c.function].physical_name(stage.stage)]}
                and refs(e["Properties"]["EventSourceArn"]) == {source}]
        assert p["BatchSize"] == c.batch_size
        assert p["MaximumBatchingWindowInSeconds"] == c.max_batching_window_s
        assert p.get("ParallelizationFactor", 1) == getattr(c, "parallelization_factor", 1)
        if isinstance(c, w.TableStreamConsumerSpec):  # only the wired event names reach the function
            (f,) = p["FilterCriteria"]["Filters"]
            assert json.loads(f["Pattern"]) == {"eventName": list(c.event_names)}
        assert p["BisectBatchOnFunctionError"] is c.bisect_on_error
        assert p["MaximumRecordAgeInSeconds"] == c.max_record_age_s
        assert p["MaximumRetryAttempts"] == c.retry_attempts
        assert p["StartingPosition"] == c.starting_position
        assert p["FunctionResponseTypes"] == (["ReportBatchItemFailures"] if c.report_batch_item_failures else [])
        assert refs(p["DestinationConfig"]["OnFailure"]["Destination"]) == {
            queues[w.QUEUES[c.on_failure_queue].physical_name(stage.stage)]}


def test_stream_mode_follows_the_context(stage):
    (s,) = stage.resources("AWS::Kinesis::Stream").values()
    shards = STAGE_CONTEXT[stage.stage]["kinesis_shards"]
    mode = s["Properties"]["StreamModeDetails"]["StreamMode"]
    assert mode == ("PROVISIONED" if shards else "ON_DEMAND")


def test_cloudwatch_alarm_state_changes_go_to_the_alert_stream(stage):
    streams = by_name(stage, "AWS::Kinesis::Stream", "Name")
    (rule,) = [r["Properties"] for r in stage.resources("AWS::Events::Rule").values()
               if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]]
    assert rule["EventPattern"]["detail-type"] == [n.EVENTBRIDGE_DETAIL_TYPE_ALARM]
    # the commander's own alarms page its operators instead of feeding back into it
    assert rule["EventPattern"]["detail"]["alarmName"] == [{"anything-but": {"prefix": f"ic-{stage.stage}-"}}]
    (target,) = rule["Targets"]
    assert refs(target["Arn"]) == {streams[w.STREAMS[n.S_ALERTS].physical_name(stage.stage)]}
    assert target["KinesisParameters"] == {"PartitionKeyPath": "$.detail.alarmName"}
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_scheduled_functions_are_invoked_on_their_schedule(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    rules = [r["Properties"] for r in stage.resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]
    scheduled = {s.key: s for s in w.FUNCTIONS.values() if s.schedule}
    assert scheduled, "detection needs its tick"
    for spec in scheduled.values():
        logical = fns[spec.physical_name(stage.stage)]
        assert [r["ScheduleExpression"] for r in rules if refs(r["Targets"]) == {logical}] == [spec.schedule]


# --- orchestration -------------------------------------------------------------------------------------
def test_state_machine_logs_everything_and_traces(stage):
    (sm,) = stage.resources("AWS::StepFunctions::StateMachine").values()
    p = sm["Properties"]
    assert p["StateMachineName"] == w.STATE_MACHINE.physical_name(stage.stage)
    assert p["LoggingConfiguration"]["Level"] == "ALL" and p["LoggingConfiguration"]["IncludeExecutionData"]
    assert p["TracingConfiguration"] == {"Enabled": True}
    # substitutions are ARNs only
    assert all(v["Fn::GetAtt"][1] == "Arn" for v in p["DefinitionSubstitutions"].values())


def test_incident_bus_archives_and_routes_escalations(stage):
    (bus,) = stage.resources("AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == f"ic-{stage.stage}-{n.BUS_INCIDENTS}"
    assert len(stage.resources("AWS::Events::Archive")) == 1
    patterns = [r["Properties"]["EventPattern"] for r in stage.resources("AWS::Events::Rule").values()
                if r["Properties"].get("EventBusName")]
    assert {"source": [n.APP], "detail-type": [n.BUS_DETAIL_TYPE_ESCALATION]} in patterns


def test_bus_escalation_detail_type_is_the_event_store_type():
    from incident_commander.models.events import EventType

    assert n.BUS_DETAIL_TYPE_ESCALATION == EventType.ESCALATION_SENT.value


# --- API: an authorizer on every route -----------------------------------------------------------------
def _paths(synth) -> dict[str, str]:
    """resource logical id -> path (roots are '/')."""
    res = synth.resources("AWS::ApiGateway::Resource")

    def path(logical: str) -> str:
        p = res[logical]["Properties"]
        parent = p["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path(parent["Ref"])
        return f"{prefix}/{p['PathPart']}"

    return {k: path(k) for k in res}


def test_every_api_method_is_authorized(stage):
    apis = by_name(stage, "AWS::ApiGateway::RestApi", "Name")
    human, machine = apis[f"ic-{stage.stage}-api"], apis[f"ic-{stage.stage}-machine-api"]
    paths = _paths(stage)
    seen = set()
    for k, m in stage.resources("AWS::ApiGateway::Method").items():
        p = m["Properties"]
        api = p["RestApiId"]["Ref"]
        rid = p["ResourceId"]
        path = "/" if "Fn::GetAtt" in rid else paths[rid["Ref"]]
        seen.add((api, p["HttpMethod"], path))
        if p["HttpMethod"] == "OPTIONS":  # CORS preflight: a mock integration, never the function
            assert api == human and p["Integration"]["Type"] == "MOCK", k
        elif path == "/alerts/{source}":  # webhooks: authenticated inside the function (tokens, signatures)
            assert api == human and p["AuthorizationType"] == "NONE" and p["HttpMethod"] == "POST"
            assert p["RequestParameters"] == {"method.request.path.source": True} and "RequestValidatorId" in p
        elif api == human:
            assert p["AuthorizationType"] == "COGNITO_USER_POOLS" and "AuthorizerId" in p, (k, path)
        else:
            assert api == machine and p["AuthorizationType"] == "AWS_IAM", (k, path)
    for api in (human, machine):  # every route reaches the function only through these
        assert {(api, "ANY", "/"), (api, "ANY", "/{proxy+}")} <= seen


def test_the_api_answers_cors_for_the_dashboard_origin_only(stage):
    (dist,) = stage.resources("AWS::CloudFront::Distribution")
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    env = stage.template["Resources"][fns[w.FUNCTIONS[n.F_API].physical_name(stage.stage)]]["Properties"][
        "Environment"]["Variables"]
    assert refs(env["IC_CORS_ORIGIN"]) == {dist} and "https://" in json.dumps(env["IC_CORS_ORIGIN"])
    for m in stage.resources("AWS::ApiGateway::Method").values():
        if m["Properties"]["HttpMethod"] == "OPTIONS":
            headers = m["Properties"]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
            assert refs(headers["method.response.header.Access-Control-Allow-Origin"]) == {dist}


def test_api_stages_throttle_log_and_trace(stage):
    cfg = STAGE_CONTEXT[stage.stage]
    groups = {k: r for k, r in stage.resources("AWS::Logs::LogGroup").items()}
    for _k, s in stage.resources("AWS::ApiGateway::Stage").items():
        p = s["Properties"]
        assert p["TracingEnabled"] is True
        (settings,) = p["MethodSettings"]
        assert settings["ThrottlingRateLimit"] == cfg["api_rate_limit"]
        assert settings["ThrottlingBurstLimit"] == cfg["api_burst_limit"]
        assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
        assert refs(p["AccessLogSetting"]["DestinationArn"]) <= set(groups)
        assert json.loads(p["AccessLogSetting"]["Format"])["requestId"]


def test_waf_protects_both_apis_in_prod_only(prod, dev):
    assert not dev.resources("AWS::WAFv2::WebACL")
    (acl,) = prod.resources("AWS::WAFv2::WebACL").values()
    (rate,) = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == STAGE_CONTEXT["prod"]["waf_rate_limit"]
    assert rate["Action"] == {"Block": {}}
    stages = set(prod.resources("AWS::ApiGateway::Stage"))
    associated = [refs(a["Properties"]["ResourceArn"]) & stages
                  for a in prod.resources("AWS::WAFv2::WebACLAssociation").values()]
    assert sorted(x for a in associated for x in a) == sorted(stages)  # each stage exactly once


def test_users_sign_in_with_mfa_into_the_role_groups(stage):
    (pool,) = stage.resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    groups = {g["Properties"]["GroupName"] for g in stage.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(n.USER_GROUPS)


def test_dashboard_is_private_behind_cloudfront_with_origin_access_control(stage):
    (dist,) = stage.resources("AWS::CloudFront::Distribution").values()
    cfg = dist["Properties"]["DistributionConfig"]
    (origin,) = cfg["Origins"]
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""
    assert cfg["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "Logging" in cfg
    site = refs(origin["DomainName"])
    policies = [p["Properties"]["PolicyDocument"]["Statement"] for p in stage.resources("AWS::S3::BucketPolicy").values()
                if refs(p["Properties"]["Bucket"]) == site]
    reads = [s for st in policies for s in st if s["Effect"] == "Allow"]
    assert reads and all(s["Principal"] == {"Service": "cloudfront.amazonaws.com"} and "AWS:SourceArn" in
                         json.dumps(s["Condition"]) for s in reads)


# --- least privilege ----------------------------------------------------------------------------------
def _role_statements(synth, role_logical: str) -> list[dict]:
    out = []
    for p in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical} in p["Properties"].get("Roles", []):
            out += p["Properties"]["PolicyDocument"]["Statement"]
    return out


def _resource_kind_of(synth) -> dict[str, str]:
    kinds = {"AWS::DynamoDB::GlobalTable": "table", "AWS::Kinesis::Stream": "stream", "AWS::SQS::Queue": "queue",
             "AWS::SecretsManager::Secret": "secret", "AWS::Events::EventBus": "bus",
             "AWS::StepFunctions::StateMachine": "state_machine", "AWS::OpenSearchServerless::Collection": "collection",
             "AWS::S3::Bucket": "bucket"}
    return {k: kinds[r["Type"]] for k, r in synth.template["Resources"].items() if r["Type"] in kinds}


def test_each_function_can_reach_only_what_its_environment_references(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    kind_of = _resource_kind_of(stage)
    names = {}
    for kind, specs in (("table", w.TABLES), ("stream", w.STREAMS), ("queue", w.QUEUES), ("secret", w.SECRETS),
                        ("collection", w.COLLECTIONS), ("bucket", w.BUCKETS)):
        for spec in specs.values():
            names[(kind, spec.key)] = spec.physical_name(stage.stage)
    names[("bus", n.BUS_INCIDENTS)] = f"ic-{stage.stage}-{n.BUS_INCIDENTS}"
    logical_of_name = {}
    for k, r in stage.template["Resources"].items():
        for prop in ("TableName", "Name", "QueueName", "StateMachineName"):
            if k in kind_of and prop in r["Properties"]:
                logical_of_name[(kind_of[k], r["Properties"][prop])] = k
        for tag in r.get("Properties", {}).get("Tags", []) if kind_of.get(k) == "bucket" else []:
            if tag.get("Key") == "ic:bucket":  # buckets carry no fixed name: CloudFormation makes it unique
                logical_of_name[("bucket", w.BUCKETS[tag["Value"]].physical_name(stage.stage))] = k
    sm = logical_of_name[("state_machine", w.STATE_MACHINE.physical_name(stage.stage))]
    for spec in w.FUNCTIONS.values():
        role = stage.template["Resources"][fns[spec.physical_name(stage.stage)]]["Properties"]["Role"]["Fn::GetAtt"][0]
        reached = {x for s in _role_statements(stage, role) for x in refs(s["Resource"]) if x in kind_of}
        expected = set()
        for v in spec.env.values():
            if isinstance(v, w.Ref):
                expected.add(sm if v.kind == "state_machine" else
                             logical_of_name.get((v.kind, names.get((v.kind, v.key), "")), f"{v.kind}:{v.key}"))
        expected |= {logical_of_name[("stream", w.STREAMS[c.stream].physical_name(stage.stage))]
                     for c in w.STREAM_CONSUMERS if c.function == spec.key}
        expected |= {logical_of_name[("table", w.TABLES[c.table].physical_name(stage.stage))]
                     for c in w.TABLE_STREAM_CONSUMERS if c.function == spec.key}
        expected |= {logical_of_name[("queue", w.QUEUES[c.on_failure_queue].physical_name(stage.stage))]
                     for c in (*w.STREAM_CONSUMERS, *w.TABLE_STREAM_CONSUMERS) if c.function == spec.key}
        if spec.bus_events:  # failed deliveries and invocations of bus events
            expected.add(logical_of_name[("queue", f"ic-{stage.stage}-bus-dlq")])
        assert reached == expected, spec.key


def test_state_machine_references_grant_exactly_their_access(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    actions = {"start": {"states:StartExecution"}, "describe": {"states:DescribeStateMachine"},
               "respond": {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}}
    for spec in w.FUNCTIONS.values():
        role = stage.template["Resources"][fns[spec.physical_name(stage.stage)]]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = {a for s in _role_statements(stage, role) for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                     else s["Action"]) if a.startswith("states:")}
        wanted = set()
        for v in spec.env.values():
            if isinstance(v, w.Ref) and v.kind == "state_machine":
                for a in v.access or ("start",):
                    wanted |= actions[a]
        assert granted == wanted, spec.key


ALLOWED_ON_ANY_RESOURCE = {  # services that offer no resource-level permission for these actions
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}


def test_no_wildcard_actions_and_resource_star_only_where_aws_offers_nothing_narrower(stage):
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for k, p in stage.resources(kind).items():
            for s in p["Properties"]["PolicyDocument"]["Statement"]:
                acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
                assert not any(a == "*" or a.endswith(":*") for a in acts), (k, acts)
                if s["Resource"] == "*" or s["Resource"] == ["*"]:
                    assert set(acts) <= ALLOWED_ON_ANY_RESOURCE, (k, acts)


def test_vector_collection_data_access_is_scoped_to_the_functions_that_reference_it(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    for c in w.COLLECTIONS.values():
        users = [s for s in w.FUNCTIONS.values()
                 if any(isinstance(v, w.Ref) and v.kind == "collection" and v.key == c.key for v in s.env.values())]
        policies = [p["Properties"] for p in stage.resources("AWS::OpenSearchServerless::AccessPolicy").values()
                    if p["Properties"]["Name"] == f"{c.physical_name(stage.stage)}-data"]
        if not users:
            assert not policies
            continue
        (policy,) = policies
        roles = {stage.template["Resources"][fns[s.physical_name(stage.stage)]]["Properties"]["Role"]["Fn::GetAtt"][0]
                 for s in users}
        assert refs(policy["Policy"]) == roles


# --- observability ------------------------------------------------------------------------------------
def test_every_log_group_has_the_configured_retention(stage):
    days = STAGE_CONTEXT[stage.stage]["log_retention_days"]
    groups = stage.resources("AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == days for g in groups.values())
    # every function writes to its own log group (not the account-wide default role's)
    names = {g["Properties"]["LogGroupName"] for g in groups.values()}
    assert {f"/aws/lambda/{s.physical_name(stage.stage)}" for s in w.FUNCTIONS.values()} <= names


def test_alarms_watch_what_means_the_commander_is_unhealthy(stage):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in stage.resources("AWS::CloudWatch::Alarm").values()}
    p = f"ic-{stage.stage}-"
    expected = {f"{p}bedrock-circuit-open", f"{p}alarm-events-dlq",
                f"{p}{w.STATE_MACHINE.key}-failed", f"{p}{w.STATE_MACHINE.key}-timed-out"}
    for c in w.STREAM_CONSUMERS:
        name = f"{c.function}-{c.stream}".replace("_", "-")
        expected |= {f"{p}{name}-iterator-age", f"{p}{name}-failures"}
    for s in w.FUNCTIONS.values():
        expected |= {f"{s.physical_name(stage.stage)}-errors", f"{s.physical_name(stage.stage)}-throttles"}
    assert expected <= set(alarms)
    topics = {k for k, t in stage.resources("AWS::SNS::Topic").items() if t["Properties"]["TopicName"] == f"{p}alarms"}
    for name, a in alarms.items():
        assert refs(a["AlarmActions"]) == topics, name
    circuit = alarms[f"{p}bedrock-circuit-open"]["Metrics"][0]["Expression"]
    assert n.METRIC_CIRCUIT_OPEN in circuit and "dependency = 'bedrock'" in circuit


def test_dashboard_reads_the_shared_metric_names(stage):
    (d,) = stage.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(d["Properties"]["DashboardBody"])
    for metric in (n.METRIC_ALERTS_RECEIVED, n.METRIC_INCIDENTS_OPENED, n.METRIC_DECISIONS, n.METRIC_MTTR_SECONDS,
                   "IteratorAge", "Errors", "Throttles", "ExecutionsFailed"):
        assert metric in body, metric


# --- names and tags -----------------------------------------------------------------------------------
def test_resources_are_named_and_tagged_by_stage(stage):
    prefix = f"ic-{stage.stage}-"
    for kind, prop in (("AWS::Lambda::Function", "FunctionName"), ("AWS::DynamoDB::GlobalTable", "TableName"),
                       ("AWS::Kinesis::Stream", "Name"), ("AWS::SQS::Queue", "QueueName"), ("AWS::SNS::Topic", "TopicName"),
                       ("AWS::StepFunctions::StateMachine", "StateMachineName"), ("AWS::ApiGateway::RestApi", "Name"),
                       ("AWS::Events::Rule", "Name"), ("AWS::CloudWatch::Alarm", "AlarmName")):
        for k, r in stage.resources(kind).items():  # (CDK's unnamed deployment handler aside)
            assert r["Properties"].get(prop, prefix).startswith(prefix), (kind, k)
    for r in stage.resources("AWS::Lambda::Function").values():
        assert {"Key": "stage", "Value": stage.stage} in r["Properties"]["Tags"]
        assert {"Key": "app", "Value": n.APP} in r["Properties"]["Tags"]


# --- subscriptions, buckets, models -------------------------------------------------------------------
def test_functions_subscribed_to_bus_events_get_them_with_a_dead_letter_queue(stage):
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    (bus,) = stage.resources("AWS::Events::EventBus")
    for spec in (s for s in w.FUNCTIONS.values() if s.bus_events):
        logical = fns[spec.physical_name(stage.stage)]
        (rule,) = [r["Properties"] for r in stage.resources("AWS::Events::Rule").values()
                   if any(refs(t["Arn"]) == {logical} for t in r["Properties"].get("Targets", []))]
        assert rule["EventBusName"] == {"Ref": bus}
        assert rule["EventPattern"] == {"source": [n.APP], "detail-type": list(spec.bus_events)}
        assert "DeadLetterConfig" in rule["Targets"][0]
        (invoke_config,) = [c["Properties"] for c in stage.resources("AWS::Lambda::EventInvokeConfig").values()
                            if refs(c["Properties"]["FunctionName"]) == {logical}]
        assert "OnFailure" in invoke_config["DestinationConfig"]


def test_the_learning_agent_hears_resolutions():
    from incident_commander.models.events import EventType

    assert n.BUS_DETAIL_TYPE_RESOLVED == EventType.RESOLVED.value
    assert n.BUS_DETAIL_TYPE_RESOLVED in w.FUNCTIONS[n.F_LEARNING].bus_events


def test_wired_buckets_are_versioned_kms_encrypted_and_logged(stage):
    keys = set(stage.resources("AWS::KMS::Key"))
    for spec in w.BUCKETS.values():
        (b,) = [r["Properties"] for r in stage.resources("AWS::S3::Bucket").values()
                if {"Key": "ic:bucket", "Value": spec.key} in r["Properties"].get("Tags", [])]
        (rule,) = b["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert refs(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) <= keys
        assert b["VersioningConfiguration"] == {"Status": "Enabled"} and "LoggingConfiguration" in b


def test_the_api_function_reads_the_webhook_tokens_and_nothing_else_does(stage):
    """The webhook route authenticates inside the api function: it (alone) reads the per-source tokens."""
    (secret,) = [k for k, r in stage.resources("AWS::SecretsManager::Secret").items()
                 if r["Properties"]["Name"] == w.SECRETS[n.SECRET_WEBHOOK_TOKENS].physical_name(stage.stage)]
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    readers = set()
    for spec in w.FUNCTIONS.values():
        role = stage.template["Resources"][fns[spec.physical_name(stage.stage)]]["Properties"]["Role"]["Fn::GetAtt"][0]
        if any(secret in refs(s["Resource"]) for s in _role_statements(stage, role)):
            readers.add(spec.key)
    assert readers == {n.F_API}


def test_bedrock_grants_cover_the_configured_default_models(stage):
    """A function granted models gets InvokeModel on exactly them; the defaults of the config are among them."""
    from incident_commander.adapters.bedrock import TITAN_V2
    from incident_commander.config import LlmConfig

    granted = {m for s in w.FUNCTIONS.values() for m in s.bedrock_models}
    assert {TITAN_V2, LlmConfig().model_id} <= granted
    fns = by_name(stage, "AWS::Lambda::Function", "FunctionName")
    for spec in w.FUNCTIONS.values():
        role = stage.template["Resources"][fns[spec.physical_name(stage.stage)]]["Properties"]["Role"]["Fn::GetAtt"][0]
        bedrock = [s for s in _role_statements(stage, role) if "bedrock:InvokeModel" in s["Action"]]
        if not spec.bedrock_models:
            assert not bedrock, spec.key
            continue
        (st,) = bedrock
        text = json.dumps(st["Resource"])
        assert all(f"foundation-model/{m}" in text for m in spec.bedrock_models), spec.key


def test_the_dashboard_is_deployed_with_the_config_its_page_reads(dev):
    """config.json in the format local/dashboard/app.js reads (values are filled in at deploy time)."""
    import re

    # deploy-time values are markers CDK's deployment handler replaces with JSON strings
    configs = [json.loads(re.sub(r"<<marker:0xbaba:\d+>>", '"deploy-time"', p.read_text()))
               for p in dev.outdir.rglob("config.json")]
    (config,) = configs
    assert config["auth"] == "cognito" and set(config) == {"api", "auth", "cognito"}
    assert set(config["cognito"]) == {"domain", "clientId", "redirectUri"}
    page = (Path(__file__).resolve().parents[2] / "layers/common/python/incident_commander/local/dashboard/app.js").read_text()
    assert all(f"config.{k}" in page for k in ("api", "auth", "cognito"))
