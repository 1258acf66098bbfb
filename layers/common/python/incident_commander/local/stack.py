"""The embedded local stack: moto on 127.0.0.1, deployed from `wiring` exactly as the CDK app is.

    with LocalStack() as stack:
        stack.api(...)          # the real API handler behind an API Gateway proxy event
        stack.pump.drain()      # the Kinesis event source mapping, run synchronously

Tables, stream, queue, functions (with their real environment), the state machine (the real ASL
with the real ARNs substituted) and the event source mapping settings all come from `wiring`.
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
import zipfile
from pathlib import Path
from typing import Any

from .. import names as n
from .. import wiring as w
from ..adapters import aws
from . import moto_dynamodb
from .lambda_runner import InProcessLambdas

REGION = "us-east-1"
ACCOUNT = "123456789012"
# A Retry in the ASL really sleeps in moto's interpreter; locally intervals are scaled by this.
RETRY_SLEEP_SCALE = float(os.environ.get("IC_LOCAL_RETRY_SCALE", "0.01"))

# the virtual clock (recording time), quiet logs, topology changes visible at once, local auth (api/roles.py)
LOCAL_ENV_DEFAULTS = {"IC_CLOCK": "virtual", "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_DEV": "false",
                      "IC_TOPOLOGY_TTL_SECONDS": "0", "IC_AUTH_MODE": "local",
                      "POWERTOOLS_METRICS_DISABLED": "true",  # no EMF lines on stdout (no CloudWatch here)
                      "IC_RESILIENCE_MEMORY_GUARD": "false"}  # one process for every function: its RSS is no one's


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scale_retry_sleeps(scale: float) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    class _ScaledTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            time.sleep(seconds * scale)

    retrier_decl.time = _ScaledTime()  # type: ignore[attr-defined]


class LocalStack:
    def __init__(self, stage: str = "local", extra_env: dict[str, str] | None = None,
                 repo: Path | None = None, quiet: bool = True):
        self.stage = stage
        self.repo = repo or w.repo_root()
        self.extra_env = {**LOCAL_ENV_DEFAULTS, **(extra_env or {})}
        self.quiet = quiet
        self.server: Any = None
        self.port = 0
        self.endpoint = ""
        self.lambdas = InProcessLambdas()
        self.arns: dict[str, str] = {}
        self.function_env: dict[str, dict[str, str]] = {}
        self.queue_urls: dict[str, str] = {}
        self.state_machine_arn = ""
        self.pump: Any = None
        self._saved_env: dict[str, str | None] = {}

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        import logging

        from moto.server import ThreadedMotoServer

        if self.quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = _free_port()
        self._set_env({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
                       "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "MOTO_PORT": str(self.port),
                       "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", "MOTO_ALLOW_NONEXISTENT_REGION": "true"})
        self.endpoint = f"http://127.0.0.1:{self.port}"
        aws.reset_clients()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=not self.quiet)
        self.server.start()
        self._wait_ready()
        import requests

        requests.post(f"{self.endpoint}/moto-api/config",
                      json={"stepfunctions": {"execute_state_machine": True}}, timeout=5).raise_for_status()
        _scale_retry_sleeps(RETRY_SLEEP_SCALE)
        moto_dynamodb.install()
        self.lambdas.install()
        self.deploy()
        from .stream import KinesisPump

        self.pump = KinesisPump(self)
        return self

    def stop(self) -> None:
        if self.pump is not None:
            self.pump.stop()
        self.lambdas.uninstall()
        if self.server is not None:
            self.server.stop()
            self.server = None
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        aws.reset_clients()

    def _set_env(self, values: dict[str, str]) -> None:
        for k, v in values.items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto server did not start on 127.0.0.1:{self.port}")

    def client(self, service: str) -> Any:
        return aws.client(service)

    # --- deployment from wiring ----------------------------------------------------------------
    def resolve(self, value: str | w.Ref) -> str:
        if isinstance(value, str):
            return value
        if value.kind == "table":
            return w.TABLES[value.key].physical_name(self.stage)
        if value.kind == "stream":
            return w.STREAMS[value.key].physical_name(self.stage)
        if value.kind == "state_machine":
            return self.state_machine_arn
        if value.kind == "queue":
            return self.queue_urls[value.key]
        if value.kind == "secret":
            return w.SECRETS[value.key].physical_name(self.stage)
        if value.kind == "bus":
            return f"ic-{self.stage}-{value.key}"
        if value.kind == "bucket":
            return w.BUCKETS[value.key].physical_name(self.stage)
        if value.kind == "collection":
            return ""  # no OpenSearch here: the agents use the embedded memory store
        raise ValueError(f"cannot resolve {value}")

    def deploy(self) -> None:
        ddb = self.client("dynamodb")
        for spec in w.TABLES.values():
            ddb.create_table(**table_request(spec, self.stage))
        kinesis = self.client("kinesis")
        for s in w.STREAMS.values():
            kinesis.create_stream(StreamName=s.physical_name(self.stage), ShardCount=s.shards)
        sqs = self.client("sqs")
        for q in w.QUEUES.values():
            self.queue_urls[q.key] = sqs.create_queue(QueueName=q.physical_name(self.stage))["QueueUrl"]
        sm = self.client("secretsmanager")
        for sec in w.SECRETS.values():  # empty: local auth mode does not check webhook tokens (api/auth.py)
            sm.create_secret(Name=sec.physical_name(self.stage), SecretString="{}")
        events = self.client("events")
        for bus in sorted({v.key for f in w.FUNCTIONS.values() for v in f.env.values()
                           if isinstance(v, w.Ref) and v.kind == "bus"}):
            events.create_event_bus(Name=self.resolve(w.Ref("bus", bus)))
        s3 = self.client("s3")
        for b in w.BUCKETS.values():
            s3.create_bucket(Bucket=b.physical_name(self.stage))
        iam = self.client("iam")
        role = iam.create_role(RoleName=f"ic-{self.stage}-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.role_arn = role
        lam = self.client("lambda")
        # the state machine ARN is known before it exists (its name is fixed by wiring)
        self.state_machine_arn = (f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
                                  f"{w.STATE_MACHINE.physical_name(self.stage)}")
        for spec in w.FUNCTIONS.values():
            name = spec.physical_name(self.stage)
            env = {k: self.resolve(v) for k, v in spec.env.items()} | {n.ENV_STAGE: self.stage} | self.extra_env
            self.function_env[spec.key] = env
            arn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=spec.handler,
                                      Code={"ZipFile": _code_zip(self.repo / spec.code_dir)},
                                      Timeout=spec.timeout_s, MemorySize=spec.memory_mb,
                                      Environment={"Variables": env})["FunctionArn"]
            self.arns[spec.key] = arn
            self.lambdas.register(name, self.repo / spec.code_dir, spec.handler, spec.timeout_s, spec.memory_mb)
        sfn = self.client("stepfunctions")
        definition = render_asl(self.repo, {p: self.arns[f] for p, f in w.STATE_MACHINE.function_arns.items()})
        arn = sfn.create_state_machine(name=w.STATE_MACHINE.physical_name(self.stage), definition=definition,
                                       roleArn=role, type="STANDARD")["stateMachineArn"]
        assert arn == self.state_machine_arn, (arn, self.state_machine_arn)

    # --- conveniences ----------------------------------------------------------------------------
    def invoke(self, function_key: str, payload: dict[str, Any]) -> tuple[Any, str | None]:
        """Invoke a function through the Lambda API (as AWS would): (result, error type or None)."""
        r = self.client("lambda").invoke(FunctionName=self.arns[function_key], Payload=json.dumps(payload).encode())
        body = json.loads(r["Payload"].read() or b"null")
        if r.get("FunctionError"):
            return body, (body or {}).get("errorType", "Unknown")
        return body, None

    def event_store(self) -> Any:
        """The incident event store the functions write (DynamoEventStore on this stack's tables)."""
        from ..adapters.dynamodb import DynamoEventStore

        return DynamoEventStore(self.resolve(w.Ref("table", n.T_EVENTS)), self.resolve(w.Ref("table", n.T_INCIDENTS)))

    def put_topology(self, yaml_text: str) -> None:
        from ..adapters.control import ControlStore

        ControlStore(w.TABLES[n.T_CONTROL].physical_name(self.stage)).put_topology_yaml(yaml_text)


def table_request(spec: w.TableSpec, stage: str) -> dict[str, Any]:
    keys = [spec.pk] + ([spec.sk] if spec.sk else [])
    attrs = {k.name: k.type for k in keys}
    for ix in spec.indexes:
        attrs[ix.pk.name] = ix.pk.type
        if ix.sk:
            attrs[ix.sk.name] = ix.sk.type
    req: dict[str, Any] = {
        "TableName": spec.physical_name(stage), "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": spec.pk.name, "KeyType": "HASH"}]
        + ([{"AttributeName": spec.sk.name, "KeyType": "RANGE"}] if spec.sk else []),
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in attrs.items()],
    }
    if spec.indexes:
        req["GlobalSecondaryIndexes"] = [{
            "IndexName": ix.name, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": ix.pk.name, "KeyType": "HASH"}]
            + ([{"AttributeName": ix.sk.name, "KeyType": "RANGE"}] if ix.sk else [])} for ix in spec.indexes]
    if spec.stream:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream}
    return req


def render_asl(repo: Path, substitutions: dict[str, str]) -> str:
    """The ASL file with `${Placeholder}` replaced, exactly what CDK's definition_substitutions do."""
    text = (repo / w.STATE_MACHINE.asl_file).read_text()
    for placeholder, value in substitutions.items():
        text = text.replace("${" + placeholder + "}", value)
    if "${" in text:
        start = text.index("${")
        raise ValueError(f"unsubstituted placeholder {text[start:text.index('}', start) + 1]} in the ASL")
    return text


def _code_zip(code_dir: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(code_dir.glob("*.py")):
            z.write(f, f.name)
    return buf.getvalue()
