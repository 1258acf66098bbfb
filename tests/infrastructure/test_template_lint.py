"""cfn-lint on every synthesised template (it runs in the background from the session's synth, and
this module runs last so the other infrastructure tests overlap with it)."""

from __future__ import annotations

import json

# cfn-lint warnings the CDK itself produces, each harmless:
CFN_LINT_ACCEPTED = {
    "W3005": "CDK adds DependsOn on a role that the resource also references with GetAtt (redundant, not wrong)",
    "W3045": "CloudFront standard logging needs an ACL-enabled log bucket; CDK sets AccessControl LogDeliveryWrite",
}


def test_cfn_lint_finds_no_errors_in_any_template(cfn_lint):
    stdout, stderr = cfn_lint.communicate(timeout=600)
    assert cfn_lint.returncode == 0, stderr
    findings = json.loads(stdout or "[]")
    unexpected = [(f["Rule"]["Id"], f["Message"]) for f in findings if f["Rule"]["Id"] not in CFN_LINT_ACCEPTED]
    assert unexpected == []


