"""The CDK app synthesises offline, and the local stack is deployed from the same wiring (parity)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from incident_commander import names as n
from incident_commander import wiring as w

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdk.constructs.api import CORS_ORIGIN_ENV  # noqa: E402


def test_every_wired_function_is_in_the_template_with_its_handler_and_environment(dev, local_stack):
    fns = {r["Properties"]["FunctionName"]: r["Properties"] for r in dev.resources("AWS::Lambda::Function").values()
           if "FunctionName" in r["Properties"]}
    for spec in w.FUNCTIONS.values():
        props = fns[spec.physical_name("dev")]
        assert props["Handler"] == spec.handler
        assert props["MemorySize"] == spec.memory_mb and props["Timeout"] == spec.timeout_s
        env = {k: v for k, v in props["Environment"]["Variables"].items()
               if not (spec.key == n.F_API and k == CORS_ORIGIN_ENV)}  # deploy-time only: the dashboard origin
        local_env = local_stack.function_env[spec.key]
        assert set(env) == set(local_env) - set(local_stack.extra_env)
        for k, v in spec.env.items():
            if isinstance(v, str):
                assert env[k] == v == local_env[k]


def test_tables_match_the_wiring(dev):
    tables = {r["Properties"]["TableName"]: r["Properties"] for r in dev.resources("AWS::DynamoDB::GlobalTable").values()}
    assert set(tables) == {s.physical_name("dev") for s in w.TABLES.values()}
    for spec in w.TABLES.values():
        props = tables[spec.physical_name("dev")]
        keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        assert keys == {spec.pk.name: "HASH", **({spec.sk.name: "RANGE"} if spec.sk else {})}
        assert {ix["IndexName"] for ix in props.get("GlobalSecondaryIndexes", [])} == {ix.name for ix in spec.indexes}
        assert props["Replicas"][0]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}


def test_streams_and_queues_match_the_wiring(dev):
    streams = {r["Properties"]["Name"] for r in dev.resources("AWS::Kinesis::Stream").values()}
    assert streams == {s.physical_name("dev") for s in w.STREAMS.values()}
    queues = {r["Properties"].get("QueueName") for r in dev.resources("AWS::SQS::Queue").values()}
    assert {q.physical_name("dev") for q in w.QUEUES.values()} <= queues


def test_asl_placeholders_are_exactly_the_substitutions(dev):
    text = (ROOT / w.STATE_MACHINE.asl_file).read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(w.STATE_MACHINE.function_arns)
    (sm,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    subs = sm["Properties"]["DefinitionSubstitutions"]
    assert set(subs) == set(w.STATE_MACHINE.function_arns)
    logical = {r["Properties"]["FunctionName"]: k for k, r in dev.resources("AWS::Lambda::Function").items()
               if "FunctionName" in r["Properties"]}
    for placeholder, fn in w.STATE_MACHINE.function_arns.items():  # each is the ARN of the wired function
        assert subs[placeholder] == {"Fn::GetAtt": [logical[w.FUNCTIONS[fn].physical_name("dev")], "Arn"]}
    json.loads(text)


def test_local_deployment_matches_wiring(local_stack):
    ddb = local_stack.client("dynamodb")
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(s.physical_name("local") for s in w.TABLES.values())
    sfn = local_stack.client("stepfunctions")
    assert sfn.describe_state_machine(stateMachineArn=local_stack.state_machine_arn)["name"] == \
        w.STATE_MACHINE.physical_name("local")
    assert set(local_stack.arns) == set(w.FUNCTIONS) and n.F_DETECTION in local_stack.arns
