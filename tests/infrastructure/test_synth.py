"""The CDK app synthesises offline, and the local stack is deployed from the same wiring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from incident_commander import names as n
from incident_commander import wiring as w

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    sys.path.insert(0, str(ROOT))
    from cdk.app import build_app

    app = build_app({"stage": "dev", "aws:cdk:bundling-stacks": []})
    return app.synth().get_stack_by_name("IncidentCommander-dev").template


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_wired_function_is_in_the_template_with_its_handler_and_environment(template, local_stack):
    fns = {r["Properties"]["FunctionName"]: r["Properties"] for r in resources(template, "AWS::Lambda::Function").values()
           if "FunctionName" in r["Properties"]}
    for spec in w.FUNCTIONS.values():
        props = fns[spec.physical_name("dev")]
        assert props["Handler"] == spec.handler
        assert props["MemorySize"] == spec.memory_mb and props["Timeout"] == spec.timeout_s
        env = props["Environment"]["Variables"]
        local_env = local_stack.function_env[spec.key]
        assert set(env) == set(local_env) - set(local_stack.extra_env)
        for k, v in spec.env.items():
            if isinstance(v, str):
                assert env[k] == v == local_env[k]


def test_tables_match_the_wiring(template):
    tables = {r["Properties"]["TableName"]: r["Properties"] for r in resources(template, "AWS::DynamoDB::GlobalTable").values()}
    for spec in w.TABLES.values():
        props = tables[spec.physical_name("dev")]
        keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        assert keys == {spec.pk.name: "HASH", **({spec.sk.name: "RANGE"} if spec.sk else {})}
        assert props["Replicas"][0]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"]["AttributeName"] == spec.ttl_attribute


def test_event_source_mapping_carries_the_wired_settings(template):
    (esm,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
    p = esm["Properties"]
    (c,) = w.STREAM_CONSUMERS
    assert p["BatchSize"] == c.batch_size and p["BisectBatchOnFunctionError"] is True
    assert p["MaximumRetryAttempts"] == c.retry_attempts and p["MaximumRecordAgeInSeconds"] == c.max_record_age_s
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and "OnFailure" in p["DestinationConfig"]


def test_asl_placeholders_are_exactly_the_substitutions(template):
    import re

    text = (ROOT / w.STATE_MACHINE.asl_file).read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(w.STATE_MACHINE.function_arns)
    (sm,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    subs = sm["Properties"]["DefinitionSubstitutions"]
    assert set(subs) == set(w.STATE_MACHINE.function_arns)
    json.loads(text)


def test_local_deployment_matches_wiring(local_stack):
    ddb = local_stack.client("dynamodb")
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(s.physical_name("local") for s in w.TABLES.values())
    sfn = local_stack.client("stepfunctions")
    assert sfn.describe_state_machine(stateMachineArn=local_stack.state_machine_arn)["name"] == \
        w.STATE_MACHINE.physical_name("local")
    assert set(local_stack.arns) == set(w.FUNCTIONS) and n.F_DETECTION in local_stack.arns
