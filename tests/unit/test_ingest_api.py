"""POST /alerts/{source} on in-memory fakes: per-source authentication, limits, errors naming the field,
and nothing written when a request is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from incident_commander.adapters.kinesis import StreamWriteError
from incident_commander.adapters.secrets import JsonSecret, SecretUnavailable
from incident_commander.api.app import build_app
from incident_commander.api.auth import WebhookAuthenticator
from incident_commander.api.roles import AuthConfig
from incident_commander.config import Settings
from incident_commander.detection import records
from incident_commander.ingest import MAX_ALERTS_PER_DELIVERY
from incident_commander.runtime import Deps
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.topology import Topology

from tests.conftest import load_event

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CREDS = {"alertmanager": "am-token", "grafana": ["old-grafana", "new-grafana"], "datadog": "dd-token",
         "opsgenie": "og-token", "pagerduty": {"signing_secrets": ["pd-signing"],
                                               "routing_keys": ["R0UT1NGKEY0000000000000000000001"]}}


class Writer:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[tuple[bytes, str]] = []
        self.fail = fail

    def put(self, records: list[tuple[bytes, str]]) -> int:
        if self.fail:
            raise StreamWriteError(len(records), "ProvisionedThroughputExceededException")
        self.records += records
        return len(records)


def world(creds: dict[str, Any] | None = CREDS, local: bool = False, writer: Writer | None = None) -> Deps:
    deps = Deps(settings=Settings(), events=InMemoryEventStore(), topology=lambda: Topology(), clock=lambda: NOW)
    deps.extras["stream_writer"] = writer or Writer()
    deps.extras["webhook_auth"] = WebhookAuthenticator((lambda: creds) if creds is not None else None, local_mode=local)
    return deps


def post(deps: Deps, source: str, body: Any, headers: dict[str, str] | None = None,
         b64: bool = False) -> tuple[int, Any, dict[str, Any]]:
    app = build_app(lambda: deps, auth=AuthConfig(mode="aws"))
    raw = body if isinstance(body, str) else json.dumps(body)
    if b64:
        raw = base64.b64encode(raw.encode()).decode()
    path = f"/alerts/{source}"
    event = {"resource": "/alerts/{source}", "path": path, "httpMethod": "POST", "headers": headers or {},
             "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()}, "queryStringParameters": None,
             "multiValueQueryStringParameters": None, "pathParameters": {"source": source}, "body": raw,
             "isBase64Encoded": b64, "requestContext": {"path": path, "stage": "prod", "httpMethod": "POST",
                                                        "resourcePath": "/alerts/{source}", "requestId": "r-1",
                                                        "requestTimeEpoch": int(NOW.timestamp() * 1000),
                                                        "identity": {"sourceIp": "10.0.0.1"}}}
    result = app.resolve(event, None)
    return result["statusCode"], json.loads(result["body"] or "null"), result.get("multiValueHeaders") or {}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(body: Any, secret: str = "pd-signing") -> tuple[str, dict[str, str]]:
    raw = json.dumps(body)
    sig = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-PagerDuty-Signature": f"v1=deadbeef, v1={sig}"}


@pytest.mark.parametrize("source, fixture, headers", [
    ("alertmanager", "alertmanager_firing.json", bearer("am-token")),
    ("grafana", "grafana_firing.json", bearer("new-grafana")),  # either token of a rotation
    ("grafana", "grafana_firing.json", {"authorization": "Basic " + base64.b64encode(b"grafana:old-grafana").decode()}),
    ("datadog", "datadog_triggered.json", bearer("dd-token")),
    ("opsgenie", "opsgenie_create.json", {"Authorization": "GenieKey og-token"}),
    ("pagerduty", "pagerduty_trigger.json", {}),  # an Events API sender: its routing_key
])
def test_each_source_authenticates_the_way_its_tool_can(source, fixture, headers):
    deps = world()
    status, reply, _ = post(deps, source, load_event(fixture), headers)
    assert status == 202, reply
    assert reply["accepted"] >= 1 and deps.extras["stream_writer"].records


def test_pagerduty_v3_webhook_signature_over_the_raw_body():
    deps = world()
    raw, headers = signed(load_event("pagerduty_v3_incident_triggered.json"))
    assert post(deps, "pagerduty", raw, headers)[0] == 202
    tampered = raw.replace("Disk 97%", "Disk 98%")
    status, reply, _ = post(deps, "pagerduty", tampered, headers)
    assert status == 403 and "X-PagerDuty-Signature" in reply["error"]
    assert len(deps.extras["stream_writer"].records) == 1


@pytest.mark.parametrize("source, fixture, headers, status, needle", [
    ("alertmanager", "alertmanager_firing.json", {}, 401, "Authorization"),
    ("alertmanager", "alertmanager_firing.json", bearer("wrong"), 403, "does not match"),
    ("alertmanager", "alertmanager_firing.json", {"Authorization": "GenieKey am-token"}, 403, "does not match"),
    ("grafana", "grafana_firing.json", {"Authorization": "Basic !!notbase64"}, 403, "does not match"),
    ("datadog", "datadog_triggered.json", bearer("am-token"), 403, "does not match"),  # another source's token
    ("cloudwatch", "cloudwatch_alarm_eventbridge.json", bearer("x"), 403, "no webhook token is configured"),
    ("pagerduty", "pagerduty_v3_incident_triggered.json", {}, 401, "X-PagerDuty-Signature"),
    ("pagerduty", "pagerduty_v3_incident_triggered.json", {"X-PagerDuty-Signature": "v1=00"}, 403, "does not match"),
])
def test_wrong_or_missing_credentials_are_refused_and_nothing_is_written(source, fixture, headers, status, needle):
    deps = world()
    got, reply, hdrs = post(deps, source, load_event(fixture), headers)
    assert got == status and needle in reply["error"]
    assert deps.extras["stream_writer"].records == []
    assert ("WWW-Authenticate" in hdrs) == (status == 401)


def test_pagerduty_events_api_with_an_unknown_routing_key_is_refused():
    deps = world()
    body = load_event("pagerduty_trigger.json")
    body["routing_key"] = "R0UT1NGKEY0000000000000000000002"
    status, reply, _ = post(deps, "pagerduty", body)
    assert status == 403 and "routing_key" in reply["error"] and not deps.extras["stream_writer"].records


def test_unauthenticated_senders_learn_nothing_about_the_body():
    status, reply, _ = post(world(), "alertmanager", "{not json")
    assert status == 401


def test_nothing_configured_fails_closed_but_local_mode_accepts():
    status, reply, _ = post(world(creds=None), "alertmanager", load_event("alertmanager_firing.json"))
    assert status == 403 and "IC_WEBHOOK_SECRET" in reply["error"]
    assert post(world(creds=None, local=True), "alertmanager", load_event("alertmanager_firing.json"))[0] == 202


@pytest.mark.parametrize("source, body, status, field", [
    ("nagios", {}, 404, None),
    ("alertmanager", "{not json", 400, None),
    ("alertmanager", {"alerts": "x", "version": "4"}, 400, "alerts"),
    ("alertmanager", {"version": "4", "alerts": [{"labels": {"alertname": {"x": 1}}, "status": "firing"}]}, 400,
     "alerts[0].labels.alertname"),
    ("alertmanager", "x" * 1_000_001, 413, None),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(source, body, status, field):
    deps = world(local=True, creds=None)
    got, reply, _ = post(deps, source, body, bearer("am-token"))
    assert got == status and reply["error"]
    assert reply.get("field") == field if field else True
    assert deps.extras["stream_writer"].records == []


def test_a_batch_over_the_limit_is_refused_naming_alerts():
    deps = world()
    body = load_event("alertmanager_firing.json")
    body["alerts"] = body["alerts"][:1] * (MAX_ALERTS_PER_DELIVERY + 1)
    status, reply, _ = post(deps, "alertmanager", body, bearer("am-token"))
    assert status == 400 and reply["field"] == "alerts" and "limit" in reply["error"]


def test_a_multibyte_body_over_the_limit_in_bytes_is_413():
    deps = world()
    body = {"version": "4", "alerts": [], "pad": "é" * 600_000}  # 600k characters, 1.2 MB
    assert post(deps, "alertmanager", body, bearer("am-token"))[0] == 413


def test_base64_encoded_bodies_are_decoded_before_the_signature_check():
    deps = world()
    raw, headers = signed(load_event("pagerduty_v3_incident_triggered.json"))
    assert post(deps, "pagerduty", json.loads(raw), headers, b64=True)[0] == 202


def test_a_stream_that_refuses_is_503_so_the_sender_retries():
    deps = world(writer=Writer(fail=True))
    status, reply, _ = post(deps, "alertmanager", load_event("alertmanager_firing.json"), bearer("am-token"))
    assert status == 503 and "retry" in reply["error"]


def test_credentials_that_cannot_be_read_are_503():
    def broken():
        raise SecretUnavailable("secret ic-prod-webhook-tokens: AccessDeniedException")

    deps = world()
    deps.extras["webhook_auth"] = WebhookAuthenticator(broken)
    status, reply, _ = post(deps, "alertmanager", load_event("alertmanager_firing.json"), bearer("am-token"))
    assert status == 503 and "AccessDenied" in reply["error"]


# --- the Secrets Manager adapter (botocore Stubber: request shape and failure paths) -------------
def _sm():
    client = boto3.client("secretsmanager", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_json_secret_is_read_once_then_cached_and_rotation_is_picked_up_after_the_ttl():
    client, stub = _sm()
    stub.add_response("get_secret_value", {"SecretString": json.dumps({"alertmanager": "a"}), "Name": "s"},
                      {"SecretId": "ic-prod-webhook-tokens"})
    stub.add_response("get_secret_value", {"SecretString": json.dumps({"alertmanager": "b"}), "Name": "s"},
                      {"SecretId": "ic-prod-webhook-tokens"})
    secret = JsonSecret("ic-prod-webhook-tokens", client=client, ttl=60)
    with stub:
        assert secret.get() == {"alertmanager": "a"} and secret.get() == {"alertmanager": "a"}
        secret.ttl = 0
        assert secret.get() == {"alertmanager": "b"}
        stub.assert_no_pending_responses()


def test_json_secret_failures_name_the_secret_and_keep_the_last_good_value():
    client, stub = _sm()
    stub.add_client_error("get_secret_value", "ResourceNotFoundException")
    with stub, pytest.raises(SecretUnavailable, match="ic-x: ResourceNotFoundException"):
        JsonSecret("ic-x", client=client).get()
    client, stub = _sm()
    stub.add_response("get_secret_value", {"SecretString": "[1, 2]", "Name": "s"})
    with stub, pytest.raises(SecretUnavailable, match="JSON object"):
        JsonSecret("ic-x", client=client).get()
    client, stub = _sm()
    stub.add_response("get_secret_value", {"SecretString": json.dumps({"datadog": "t"}), "Name": "s"})
    stub.add_client_error("get_secret_value", "ThrottlingException")
    secret = JsonSecret("ic-x", client=client, ttl=0)
    with stub:
        assert secret.get() == {"datadog": "t"}
        assert secret.get() == {"datadog": "t"}  # a transient failure serves the last good value


def test_against_moto_secrets_manager_and_kinesis_end_to_end(monkeypatch):
    """AWS mode with the real adapters on moto (in-process): the token comes from Secrets Manager and
    the accepted alerts are on the Kinesis stream; a refused request puts nothing there."""
    from incident_commander.adapters.kinesis import AlertStreamWriter
    from moto import mock_aws

    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session's local stack may be up: stay in-process
    with mock_aws():
        sm, kinesis = boto3.client("secretsmanager"), boto3.client("kinesis")
        sm.create_secret(Name="ic-test-webhook-tokens", SecretString=json.dumps({"alertmanager": "s3cret"}))
        kinesis.create_stream(StreamName="ic-test-alerts", ShardCount=1)
        deps = world()
        deps.extras["webhook_auth"] = WebhookAuthenticator(JsonSecret("ic-test-webhook-tokens", client=sm).get)
        deps.extras["stream_writer"] = AlertStreamWriter("ic-test-alerts", client=kinesis)
        assert post(deps, "alertmanager", load_event("alertmanager_firing.json"), bearer("wrong"))[0] == 403
        status, reply, _ = post(deps, "alertmanager", load_event("alertmanager_firing.json"), bearer("s3cret"))
        assert status == 202 and reply["accepted"] == 2
        shard = kinesis.list_shards(StreamName="ic-test-alerts")["Shards"][0]["ShardId"]
        it = kinesis.get_shard_iterator(StreamName="ic-test-alerts", ShardId=shard,
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        (record,) = kinesis.get_records(ShardIterator=it)["Records"]
        packed = records.decode(base64.b64encode(record["Data"]).decode())
        assert record["PartitionKey"] == packed.header["scope"] == "cluster:prod-eu-1"
        assert [e[0] for e in packed.header["alerts"]] == ["5f1c2a9b7d3e4f60", "a0b1c2d3e4f50617"]
        assert packed.alert(*packed.header["alerts"][1][3:])["service_hints"] == ["checkout"]


# --- SNS HTTP(S) subscriptions ---------------------------------------------------------------------------
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"
SUBSCRIBE = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb"


def confirmation(**over: Any) -> dict[str, Any]:
    return {"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb", "TopicArn": TOPIC, "SubscribeURL": SUBSCRIBE,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.", "Timestamp": "2026-05-01T12:00:00.000Z",
            "SignatureVersion": "1", **over}


def sns_world(confirm=None) -> tuple[Deps, list[str]]:
    visited: list[str] = []
    deps = world({**CREDS, "sns": "sns-token"})
    deps.extras["sns_confirm"] = confirm or visited.append
    return deps, visited


BASIC = {"Authorization": "Basic " + base64.b64encode(b"ic:sns-token").decode()}


def test_an_sns_subscription_confirmation_is_confirmed_and_nothing_goes_on_the_stream():
    deps, visited = sns_world()
    status, body, _ = post(deps, "sns", confirmation(), BASIC)
    assert status == 200 and body == {"subscription": "confirmed", "topic": TOPIC}
    assert visited == [SUBSCRIBE] and deps.extras["stream_writer"].records == []
    status, body, _ = post(deps, "sns", {"Type": "UnsubscribeConfirmation", "TopicArn": TOPIC}, BASIC)
    assert status == 200 and body["subscription"] == "unsubscribed" and visited == [SUBSCRIBE]


@pytest.mark.parametrize("over, field", [
    ({"SubscribeURL": "https://evil.example.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC}, "SubscribeURL"),
    ({"SubscribeURL": "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC}, "SubscribeURL"),
    ({"SubscribeURL": "https://sns.eu-west-1.amazonaws.com.evil.io/?Action=ConfirmSubscription&TopicArn=" + TOPIC},
     "SubscribeURL"),
    ({"SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC}, "SubscribeURL"),
    ({"SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Publish&TopicArn=" + TOPIC}, "SubscribeURL"),
    ({"SubscribeURL": SUBSCRIBE.replace(":alarms", ":other")}, "SubscribeURL"),
    ({"TopicArn": "arn:aws:s3:::bucket"}, "TopicArn"),
    ({"Token": None}, "Token"),
])
def test_a_subscription_confirmation_that_is_not_sns_own_is_refused_naming_the_field(over, field):
    deps, visited = sns_world()
    status, body, _ = post(deps, "sns", confirmation(**over), BASIC)
    assert status == 400 and field in body["error"] and visited == []


def test_a_subscription_confirmation_needs_the_token_and_sns_unreachable_is_a_503():
    from incident_commander.adapters.sns import ConfirmationFailed

    deps, visited = sns_world()
    status, _, _ = post(deps, "sns", confirmation(), {"Authorization": "Basic " + base64.b64encode(b"ic:nope").decode()})
    assert status in (401, 403) and visited == []

    def unreachable(url):
        raise ConfirmationFailed("timed out")

    deps, _ = sns_world(unreachable)
    status, body, _ = post(deps, "sns", confirmation(), BASIC)
    assert status == 503 and "timed out" in body["error"] and deps.extras["stream_writer"].records == []
