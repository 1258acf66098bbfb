"""cdk-nag (v3) acknowledgements: every one names the exact finding and says why it is acceptable.

cdk-nag 3 acknowledges findings through CDK's own `Validations.of(scope).acknowledge`, one finding id
at a time (`AwsSolutions-IAM5[Resource::*]`); there is no prefix matching, so each wildcard a grant
produces is acknowledged by name, next to the code that produced it.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

# Reasons used in more than one place, written once.
XRAY = ("X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
        "(AWS service authorization reference), so tracing needs Resource '*'")
KMS_FAMILY = ("CDK's grant_* emits the KMS action families (GenerateDataKey*, ReEncrypt*) needed for envelope "
              "encryption; the statement's resource is this stack's own customer-managed key only")
S3_FAMILY = ("CDK's bucket grant_read/grant_read_write emits these S3 action families on '<bucket>/*' so the "
             "function can read, write and clean up the objects of that one bucket, nothing else")
INDEX = ("grant_*_data adds '<table>/index/*' so queries can use the table's own secondary indexes; "
         "the wildcard spans indexes of that one table only")


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. 'AwsSolutions-IAM5[Resource::*]') on scope and below."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))


def render(scope: IConstruct, value: Any) -> str:
    """How cdk-nag spells a (possibly tokenised) value in a finding id: Ref -> '<Id>', GetAtt -> '<Id.Attr>'."""
    return _render(cdk.Stack.of(scope).resolve(value))


def wildcard(scope: IConstruct, resource: Any) -> str:
    """The finding id of an IAM5 wildcard on this resource (an ARN, possibly a token, ending in '*')."""
    return f"AwsSolutions-IAM5[Resource::{render(scope, resource)}]"


def _render(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "Fn::Join" in v:
        sep, parts = v["Fn::Join"]
        return sep.join(_render(p) for p in parts)
    if isinstance(v, dict) and "Ref" in v:
        return f"<{v['Ref']}>"
    if isinstance(v, dict) and "Fn::GetAtt" in v:
        return f"<{'.'.join(v['Fn::GetAtt'])}>"
    raise ValueError(f"cannot render {v!r} as cdk-nag does")
