"""CI checks on the synthesised app: cdk-nag (AwsSolutions), cfn-lint, and the ASL validator."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from incident_commander import wiring as w

from .conftest import ROOT

ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


# --- cdk-nag ------------------------------------------------------------------------------------------
def test_no_unacknowledged_nag_or_cloudformation_findings(synths):
    for stage, s in synths.items():
        for report in s.report["pluginReports"]:
            assert report["violations"] == [], (stage, report["pluginName"], report["violations"][:3])


def test_every_acknowledgement_gives_a_reason_a_reviewer_can_check(synths):
    seen = set()
    for s in synths.values():
        for path in s.templates.values():
            for logical, r in json.loads(path.read_text())["Resources"].items():
                for ack in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                    seen.add(ack["id"])
                    reason = ack["reason"]
                    assert len(reason) >= 60 and len(set(reason.split())) >= 10, (logical, ack)
                    assert not re.search(r"\b(todo|tbd|fixme|ignore|temporary)\b", reason, re.I), (logical, ack)
    assert any(a.startswith("AwsSolutions-IAM5") for a in seen)  # the audit trail is really written


def test_nag_fails_the_synth_on_an_unacknowledged_finding(tmp_path):
    """The checks are live: the same plugin rejects an unencrypted, non-TLS queue."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


# --- the state machine --------------------------------------------------------------------------------
def _asl_validator(path: Path) -> subprocess.CompletedProcess:
    assert ASL_VALIDATOR.exists(), "asl-validator is missing: run `npm install` (make test does)"
    return subprocess.run([str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60)


def test_the_asl_file_is_valid_as_written_and_with_its_substitutions(tmp_path):
    asl = ROOT / w.STATE_MACHINE.asl_file
    assert _asl_validator(asl).returncode == 0
    text = asl.read_text()
    for placeholder, fn in w.STATE_MACHINE.function_arns.items():
        text = text.replace("${" + placeholder + "}",
                            f"arn:aws:lambda:us-east-1:123456789012:function:{w.FUNCTIONS[fn].physical_name('dev')}")
    assert "${" not in text
    rendered = tmp_path / "rendered.asl.json"
    rendered.write_text(text)
    result = _asl_validator(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_asl_validator_rejects_a_broken_definition(tmp_path):
    doc = json.loads((ROOT / w.STATE_MACHINE.asl_file).read_text())
    first = doc["StartAt"]
    doc["States"][first]["Next"] = "No such state"
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(doc))
    assert _asl_validator(broken).returncode != 0
