"""Synthesises every stage of the CDK app once per session, offline (no Docker, no AWS account).

Each stage is synthesised as the CDK CLI would (`cdk.json` context, an account and region in the
environment) with bundling skipped (`aws:cdk:bundling-stacks: []`); cdk-nag's AwsSolutions checks run
inside the synth, so a stage that synthesises has no unacknowledged finding.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = tuple(json.loads((ROOT / "cdk.json").read_text())["context"]["stages"])
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass
class Synth:
    stage: str
    outdir: Path
    template: dict[str, Any]
    template_path: Path
    templates: dict[str, Path]  # every stack of the stage (replica key stacks too)
    report: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


def synth(stage: str, outdir: Path, extra_context: dict[str, Any] | None = None) -> Synth:
    sys.path.insert(0, str(ROOT))
    from cdk.app import build_app

    saved = {k: os.environ.get(k) for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    os.environ.update(CDK_DEFAULT_ACCOUNT=ACCOUNT, CDK_DEFAULT_REGION=REGION)
    try:
        app = build_app({"stage": stage, "aws:cdk:bundling-stacks": [], **(extra_context or {})}, outdir=str(outdir))
        assembly = app.synth()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    name = f"IncidentCommander-{stage}"
    templates = {s.stack_name: Path(s.template_full_path) for s in assembly.stacks}
    return Synth(stage=stage, outdir=outdir, template=assembly.get_stack_by_name(name).template,
                 template_path=templates[name], templates=templates,
                 report=json.loads((outdir / "validation-report.json").read_text()))


@pytest.fixture(scope="session")
def synths(tmp_path_factory) -> dict[str, Synth]:
    return {stage: synth(stage, tmp_path_factory.mktemp(f"cdk-{stage}")) for stage in STAGES}


@pytest.fixture(scope="session")
def dev(synths) -> Synth:
    return synths["dev"]


@pytest.fixture(scope="session")
def prod(synths) -> Synth:
    return synths["prod"]
