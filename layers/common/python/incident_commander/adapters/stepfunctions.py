"""Step Functions adapter: start incident workflows idempotently, answer escalations."""

from __future__ import annotations

import json
import re
from typing import Any

from ..detection.ports import Workflow
from . import aws

_NAME_OK = re.compile(r"[^A-Za-z0-9_-]")


class InvalidTaskToken(RuntimeError):
    """The token is unknown, already used, or its task timed out: the escalation moved on."""


class StepFunctionsWorkflow(Workflow):
    def __init__(self, state_machine_arn: str, client: Any = None):
        self.arn = state_machine_arn
        self.sfn = client or aws.client("stepfunctions")

    @staticmethod
    def execution_name(name: str) -> str:
        return _NAME_OK.sub("-", name)[:80]

    def start(self, name: str, payload: dict[str, Any]) -> str:
        exec_name = self.execution_name(name)
        try:
            r = self.sfn.start_execution(stateMachineArn=self.arn, name=exec_name, input=json.dumps(payload))
            return r["executionArn"]
        except self.sfn.exceptions.ExecutionAlreadyExists:
            return f"{self.arn.replace(':stateMachine:', ':execution:')}:{exec_name}"

    def send_success(self, token: str, output: dict[str, Any]) -> None:
        try:
            self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except (self.sfn.exceptions.TaskDoesNotExist, self.sfn.exceptions.TaskTimedOut,
                self.sfn.exceptions.InvalidToken) as exc:
            raise InvalidTaskToken(str(exc)) from exc

    def send_failure(self, token: str, error: str, cause: str) -> None:
        try:
            self.sfn.send_task_failure(taskToken=token, error=error, cause=cause[:32768])
        except (self.sfn.exceptions.TaskDoesNotExist, self.sfn.exceptions.TaskTimedOut,
                self.sfn.exceptions.InvalidToken) as exc:
            raise InvalidTaskToken(str(exc)) from exc

    def describe(self) -> dict[str, Any]:
        return self.sfn.describe_state_machine(stateMachineArn=self.arn)
