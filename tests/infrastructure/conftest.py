"""Synthesises every stage of the CDK app once per session, offline (no Docker, no AWS account).

Each stage is synthesised as the CDK CLI would (`cdk.json` context, an account and region in the
environment) with bundling skipped (`aws:cdk:bundling-stacks: []`); cdk-nag's AwsSolutions checks run
inside the synth, so a stage that synthesises has no unacknowledged finding.
"""

from __future__ import annotations

import json
import os
import subprocess
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


SYNTH = """
import json, sys
sys.path.insert(0, {root!r})
from cdk.app import build_app
build_app(json.loads(sys.argv[1]), outdir=sys.argv[2]).synth()
"""


def start_synth(stage: str, outdir: Path, extra_context: dict[str, Any] | None = None) -> subprocess.Popen:
    """`cdk synth` of one stage in its own process, as the CLI would run the app (account and region set)."""
    context = {"stage": stage, "aws:cdk:bundling-stacks": [], **(extra_context or {})}
    env = {**os.environ, "CDK_DEFAULT_ACCOUNT": ACCOUNT, "CDK_DEFAULT_REGION": REGION,
           "CDK_DISABLE_CLI_TELEMETRY": "true"}
    return subprocess.Popen([sys.executable, "-c", SYNTH.format(root=str(ROOT)), json.dumps(context), str(outdir)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_synth(stage: str, outdir: Path, proc: subprocess.Popen) -> Synth:
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"synth of {stage} failed:\n{(out + err)[-6000:]}")
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates = {name: outdir / a["properties"]["templateFile"] for name, a in manifest["artifacts"].items()
                 if a["type"] == "aws:cloudformation:stack"}
    name = f"IncidentCommander-{stage}"
    return Synth(stage=stage, outdir=outdir, template=json.loads(templates[name].read_text()),
                 template_path=templates[name], templates=templates,
                 report=json.loads((outdir / "validation-report.json").read_text()))


_LINT: dict[str, subprocess.Popen] = {}


@pytest.fixture(scope="session")
def synths(tmp_path_factory) -> dict[str, Synth]:
    """Every stage, synthesised in parallel processes; cfn-lint then starts on them in the background."""
    dirs = {stage: tmp_path_factory.mktemp(f"cdk-{stage}") for stage in STAGES}
    procs = {stage: start_synth(stage, d) for stage, d in dirs.items()}
    done = {stage: finish_synth(stage, dirs[stage], procs[stage]) for stage in STAGES}
    paths = [str(p) for s in done.values() for p in s.templates.values()]
    _LINT["proc"] = subprocess.Popen([str(Path(sys.executable).with_name("cfn-lint")), "--format", "json",
                                      "--non-zero-exit-code", "none", *paths],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield done
    if _LINT["proc"].poll() is None:
        _LINT["proc"].kill()
        _LINT["proc"].wait()


@pytest.fixture(scope="session")
def cfn_lint(synths) -> subprocess.Popen:
    """cfn-lint over every template (main and replica-key stacks of every stage)."""
    return _LINT["proc"]


@pytest.fixture(scope="session")
def dev(synths) -> Synth:
    return synths["dev"]


@pytest.fixture(scope="session")
def prod(synths) -> Synth:
    return synths["prod"]
