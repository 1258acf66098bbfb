#!/usr/bin/env python3
"""CDK app: `cdk deploy -c stage=dev` (or prod). Everything it builds comes from `incident_commander.wiring`;
stages (regions, replicas, architecture, WAF...) come from `cdk.json` context. cdk-nag's AwsSolutions
checks run on every synth: an unacknowledged finding fails it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python cdk/app.py` (how cdk.json runs the app) puts cdk/ first on the path, where cdk/constructs/
# would shadow the `constructs` library; the app is imported as the package `cdk` of the repository root
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "cdk"]

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from incident_commander import names as n  # noqa: E402

from cdk.config import StageConfig, StageConfigError  # noqa: E402
from cdk.constructs.keys import ReplicaKeysStack  # noqa: E402
from cdk.stacks.commander_stack import IncidentCommanderStack  # noqa: E402


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    """`context` overrides cdk.json's; under the CDK CLI, its `-c` values override both."""
    defaults = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    app = cdk.App(context={**defaults, **(context or {})}, outdir=outdir)
    stage = app.node.try_get_context("stage") or "dev"
    cfg = StageConfig.from_context(app, stage)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = cfg.region or os.environ.get("CDK_DEFAULT_REGION")
    if not region:  # KMS-encrypted global tables and the replicas need to know their home region
        raise StageConfigError(f"no region for stage {stage}: set stages.{stage}.region in cdk.json or a default "
                               "region for the AWS CLI (AWS_REGION / aws configure)")
    if region in cfg.replica_regions:
        raise StageConfigError(f"stages.{stage}.replica_regions lists {region}, the stack's own region")
    stack = IncidentCommanderStack(app, f"IncidentCommander-{stage}", config=cfg,
                                   env=cdk.Environment(account=account, region=region),
                                   description=f"Incident Commander ({stage}): autonomous incident response")
    for r in cfg.replica_regions:
        keys = ReplicaKeysStack(app, f"IncidentCommander-{stage}-keys-{r}", config=cfg,
                                env=cdk.Environment(account=account, region=r),
                                description=f"Incident Commander ({stage}): data key for the {r} table replicas")
        cdk.Tags.of(keys).add("app", n.APP)
        cdk.Tags.of(keys).add("stage", stage)
        stack.add_stack_dependency(keys, "replicas in this region are encrypted with its key")
    # acknowledgements are also written into the template (Metadata.cdk_nag) as an audit trail
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return app


if __name__ == "__main__":
    build_app().synth()
