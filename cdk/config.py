"""Per-stage settings from `cdk.json` context (`stages.<name>`), validated so a typo fails the synth
with the key that is wrong instead of deploying something else."""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from constructs import Construct

ARCHITECTURES = ("arm64", "x86_64")
PYTHON_VERSIONS = ("3.12", "3.13", "3.14")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# the values CloudWatch Logs accepts for a retention period
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


class StageConfigError(ValueError):
    """A stage's context is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class StageConfig:
    stage: str
    region: str | None = None  # None: the CLI's default region (CDK_DEFAULT_REGION)
    replica_regions: tuple[str, ...] = ()  # DynamoDB global-table replicas (prod)
    architecture: str = "arm64"
    python: str = "3.12"  # Lambda runtime; the layer's wheels and .pyc are built for it
    kinesis_shards: int = 0  # 0 = on-demand
    retain_data: bool = False  # RETAIN + deletion protection (prod)
    waf: bool = False  # WAF web ACL with a rate-based rule on the API
    waf_rate_limit: int = 2000  # requests per 5 minutes per client IP before WAF blocks
    api_rate_limit: int = 100  # API Gateway stage throttling: steady requests/s ...
    api_burst_limit: int = 200  # ... and burst
    log_retention_days: int = 30
    alarm_email: str | None = None  # subscribed to the alarm topic when set
    search_standby_replicas: bool = False  # OpenSearch Serverless standby replicas (prod: True)
    dashboard_callback_urls: tuple[str, ...] = ()  # extra Cognito callback URLs (e.g. a custom domain)
    env: dict[str, str] = field(default_factory=dict)  # extra IC_* settings for every function

    @property
    def log_retention(self) -> Any:
        """The aws_logs.RetentionDays member for log_retention_days (members are listed in day order)."""
        from aws_cdk import aws_logs as logs

        return list(logs.RetentionDays)[RETENTION_DAYS.index(self.log_retention_days)]

    @property
    def removal(self) -> Any:
        import aws_cdk as cdk

        return cdk.RemovalPolicy.RETAIN if self.retain_data else cdk.RemovalPolicy.DESTROY

    def name(self, suffix: str) -> str:
        """A physical name for this stage: ic-<stage>-<suffix>."""
        return f"ic-{self.stage}-{suffix}"

    @classmethod
    def from_context(cls, scope: Construct, stage: str) -> StageConfig:
        stages: dict[str, Any] = scope.node.try_get_context("stages") or {}
        if stage not in stages:
            raise StageConfigError(f"stage {stage!r} is not in cdk.json context 'stages' (have: {sorted(stages)})")
        return cls.from_dict(stage, stages[stage])

    @classmethod
    def from_dict(cls, stage: str, raw: dict[str, Any]) -> StageConfig:
        where = f"stages.{stage}"
        if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", stage):
            raise StageConfigError(f"stage {stage!r}: use 1-10 lowercase letters/digits (it prefixes every name)")
        known = {f.name for f in fields(cls)} - {"stage"}
        unknown = set(raw) - known
        if unknown:
            raise StageConfigError(f"{where}: unknown key(s) {sorted(unknown)} (known: {sorted(known)})")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "stage" or f.name not in raw:
                continue
            v = raw[f.name]
            default = f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]
            if isinstance(default, bool):
                if not isinstance(v, bool):
                    raise StageConfigError(f"{where}.{f.name}: expected true or false, got {v!r}")
            elif isinstance(default, int):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise StageConfigError(f"{where}.{f.name}: expected a non-negative integer, got {v!r}")
            elif isinstance(default, tuple):
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise StageConfigError(f"{where}.{f.name}: expected a list of strings, got {v!r}")
                v = tuple(v)
            elif isinstance(default, dict):
                if not isinstance(v, dict) or not all(isinstance(x, str) for x in [*v, *v.values()]):
                    raise StageConfigError(f"{where}.{f.name}: expected an object of strings, got {v!r}")
            elif v is not None and not isinstance(v, str):
                raise StageConfigError(f"{where}.{f.name}: expected a string, got {v!r}")
            values[f.name] = v
        cfg = cls(stage=stage, **values)
        cfg._check(where)
        return cfg

    def _check(self, where: str) -> None:
        if self.architecture not in ARCHITECTURES:
            raise StageConfigError(f"{where}.architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.python not in PYTHON_VERSIONS:
            raise StageConfigError(f"{where}.python: expected one of {PYTHON_VERSIONS}, got {self.python!r}")
        for r in ([self.region] if self.region else []) + list(self.replica_regions):
            if not _REGION.match(r):
                raise StageConfigError(f"{where}: {r!r} is not an AWS region name")
        if self.region and self.region in self.replica_regions:
            raise StageConfigError(f"{where}.replica_regions: {self.region} is the stack's own region")
        if self.waf and self.waf_rate_limit < 10:
            raise StageConfigError(f"{where}.waf_rate_limit: WAF needs at least 10 requests per 5 minutes")
        if self.log_retention_days not in RETENTION_DAYS:
            raise StageConfigError(f"{where}.log_retention_days: CloudWatch accepts one of {RETENTION_DAYS}")
        if self.api_burst_limit < self.api_rate_limit:
            raise StageConfigError(f"{where}.api_burst_limit: must be at least api_rate_limit")
        if bad := [k for k in self.env if not k.startswith("IC_")]:
            raise StageConfigError(f"{where}.env: only IC_* settings belong here, got {bad}")
