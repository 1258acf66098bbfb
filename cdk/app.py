#!/usr/bin/env python3
"""CDK app: `cdk deploy -c stage=dev` (or prod). Everything it builds comes from `incident_commander.wiring`."""

import os
import sys
from pathlib import Path

import aws_cdk as cdk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `cdk` is a package of the repository root

from cdk.stacks.commander_stack import IncidentCommanderStack, StageConfig  # noqa: E402


def build_app(context: dict | None = None) -> cdk.App:
    app = cdk.App(context=context or {})
    stage = app.node.try_get_context("stage") or "dev"
    cfg = StageConfig.from_context(app, stage)
    IncidentCommanderStack(app, f"IncidentCommander-{stage}", config=cfg,
                           env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
                                               region=cfg.region or os.environ.get("CDK_DEFAULT_REGION")))
    return app


if __name__ == "__main__":
    build_app().synth()
