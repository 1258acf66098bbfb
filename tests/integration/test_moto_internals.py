"""The local stack relies on moto internals. If moto changes them, these fail loudly (pin or adapt)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from incident_commander.local.lambda_runner import PATCH_TARGET


def test_moto_version_is_the_pinned_one():
    pinned = next(line.split("==")[1].strip() for line in open("requirements-dev.txt") if line.startswith("moto["))
    assert version("moto") == pinned


def test_lambda_invoke_goes_through_the_patched_private_method():
    from moto.awslambda import models

    module_src = inspect.getsource(models)  # the file as shipped, whether or not the stack patched it
    assert "def _invoke_lambda(self, event: str | None = None) -> tuple[str, bool, str]:" in module_src, \
        f"{PATCH_TARGET} changed its signature"
    src = inspect.getsource(models.LambdaFunction.invoke)
    assert "self._invoke_lambda(event=body)" in src, "LambdaFunction.invoke no longer calls _invoke_lambda"


def test_retry_sleep_hook_exists():
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    assert "time.sleep(" in inspect.getsource(retrier_decl), "moto's Retry no longer sleeps via time.sleep"


def test_a_handler_really_runs_in_process_with_its_own_environment(local_stack):
    from incident_commander import names as n

    # the API handler answers /health with the state machine it was configured with
    from incident_commander.local.player import Player

    status, body = Player(local_stack).api("GET", "/health")
    assert status == 200 and body["components"]["state_machine"]["status"] == "ok"
    env = local_stack.function_env[n.F_DIAGNOSE_RULES]
    assert env[n.ENV_DIAGNOSER] == "rules" and local_stack.function_env[n.F_DIAGNOSE_TOPOLOGY][n.ENV_DIAGNOSER] == "topology"
    assert any(name.endswith("api") for name, _, _ in local_stack.lambdas.invocations)
