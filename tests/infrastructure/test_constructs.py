"""Constructs in isolation, for the cases the current wiring does not exercise yet."""

from __future__ import annotations

import json
import sys

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from incident_commander import wiring as w

from .conftest import ROOT

sys.path.insert(0, str(ROOT))

from cdk.config import StageConfig  # noqa: E402
from cdk.constructs.agent_function import AgentFunction  # noqa: E402
from cdk.constructs.resources import Resources  # noqa: E402
from cdk.constructs.search import VectorCollection  # noqa: E402

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _function(stack: cdk.Stack, spec: w.FunctionSpec) -> AgentFunction:
    return AgentFunction(stack, "Fn", spec=spec, config=StageConfig("dev"), repo=ROOT,
                         layer=lambda_.LayerVersion.from_layer_version_arn(
                             stack, "L", "arn:aws:lambda:eu-west-1:123456789012:layer:x:1"),
                         runtime=lambda_.Runtime.PYTHON_3_12, architecture=lambda_.Architecture.ARM_64,
                         resources=Resources(), logs_key=kms.Key(stack, "K"))


def _statements(template: Template) -> list[dict]:
    return [s for p in template.find_resources("AWS::IAM::Policy").values()
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_a_function_may_invoke_exactly_its_bedrock_models():
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    spec = w.FunctionSpec("llm", "functions/consensus", bedrock_models=(
        "amazon.titan-embed-text-v2:0", "eu.anthropic.claude-3-5-haiku-20241022-v1:0"))
    _function(stack, spec)
    (st,) = [s for s in _statements(Template.from_stack(stack)) if "bedrock:InvokeModel" in s["Action"]]
    resources = json.dumps(st["Resource"])
    assert "eu-west-1::foundation-model/amazon.titan-embed-text-v2:0" in resources
    assert "eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-5-haiku-20241022-v1:0" in resources
    # a cross-region profile routes to its geography's regions: only the region is open, not the model
    assert ":bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0" in resources
    assert "foundation-model/*" not in resources


def test_a_function_without_models_gets_no_bedrock_access():
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    _function(stack, w.FunctionSpec("plain", "functions/consensus"))
    assert not [s for s in _statements(Template.from_stack(stack)) if "bedrock" in json.dumps(s["Action"])]


def test_collection_data_access_names_exactly_the_granted_roles():
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    c = VectorCollection(stack, "C", spec=w.CollectionSpec("memory"), config=StageConfig("dev"), key=kms.Key(stack, "K"))
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    c.grant_read_write(reader)
    c.finish()
    t = Template.from_stack(stack)
    (policy,) = t.find_resources("AWS::OpenSearchServerless::AccessPolicy").values()
    body = json.dumps(policy["Properties"]["Policy"])
    assert "ReaderF" in body and "Other" not in body
    assert "index/ic-dev-memory/*" in body
    (st,) = [s for s in _statements(t) if s["Action"] == "aoss:APIAccessAll"]
    assert "CCollection" in json.dumps(st["Resource"])


def test_an_unused_collection_gets_no_access_policy():
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    c = VectorCollection(stack, "C", spec=w.CollectionSpec("memory"), config=StageConfig("dev"), key=kms.Key(stack, "K"))
    c.finish()
    assert not Template.from_stack(stack).find_resources("AWS::OpenSearchServerless::AccessPolicy")
