"""Runs the real Lambda handlers in-process whenever moto invokes a function.

moto runs Lambda code only in Docker. Every invoke path (the Invoke API, Step Functions tasks)
goes through `moto.awslambda.models.LambdaFunction._invoke_lambda`; we replace it with a function
that imports the function's `handler.py` (once, like a container's cold start, under the
function's own environment) and calls it. Exceptions come back as Lambda function errors, so the
ASL's Retry and Catch see what AWS would show them. `tests/integration/test_moto_internals.py`
fails loudly if moto moves this private API.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .environ import function_environment

PATCH_TARGET = "moto.awslambda.models.LambdaFunction._invoke_lambda"


@dataclass
class LocalContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Registered:
    name: str
    handler_path: Path
    handler_attr: str
    timeout_s: int
    memory_mb: int


class InProcessLambdas:
    """Function name -> handler file; loaded lazily, invoked with that function's environment."""

    def __init__(self) -> None:
        self.functions: dict[str, Registered] = {}
        self.modules: dict[tuple[str, int], ModuleType] = {}
        self.invocations: list[tuple[str, float, bool]] = []  # (function, ms, errored)
        # function name -> callable(event) for fault injection: it raises (a function error), sleeps, or
        # returns a value that replaces the handler's answer
        self.faults: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._original: Any = None

    def register(self, name: str, code_dir: Path, handler: str, timeout_s: int, memory_mb: int) -> None:
        module_file, attr = handler.rsplit(".", 1)
        self.functions[name] = Registered(name, code_dir / f"{module_file}.py", attr, timeout_s, memory_mb)

    def _module(self, reg: Registered, env: dict[str, str]) -> ModuleType:
        """The handler module of one warm container. A configuration change starts a new one (as in
        Lambda): the module is keyed by the function's environment and imported again under it."""
        key = (reg.name, hash(frozenset(env.items())))
        mod = self.modules.get(key)
        if mod is None:
            with self._lock:
                mod = self.modules.get(key)
                if mod is None:
                    spec = importlib.util.spec_from_file_location(f"lambda_{reg.name.replace('-', '_')}",
                                                                  reg.handler_path)
                    assert spec and spec.loader, reg.handler_path
                    mod = importlib.util.module_from_spec(spec)
                    with function_environment(env):
                        spec.loader.exec_module(mod)
                    self.modules[key] = mod
        return mod

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        """The replacement body of LambdaFunction._invoke_lambda: (payload, errored, logs)."""
        reg = self.functions.get(fn.function_name)
        if reg is None:
            return json.dumps({"errorMessage": f"no local handler for {fn.function_name}",
                               "errorType": "Runtime.HandlerNotFound"}), True, ""
        payload = json.loads(event) if isinstance(event, (str, bytes)) else (event or {})
        env = {"AWS_LAMBDA_FUNCTION_NAME": fn.function_name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(reg.memory_mb),
               "AWS_LAMBDA_FUNCTION_TIMEOUT": str(reg.timeout_s), "_HANDLER": f"handler.{reg.handler_attr}",
               **{k: str(v) for k, v in (fn.environment_vars or {}).items()}}
        ctx = LocalContext(fn.function_name, reg.memory_mb, fn.function_arn, reg.timeout_s)
        t0 = time.perf_counter()
        errored = False
        try:
            with function_environment(env):
                fault = self.faults.get(fn.function_name)
                replaced = fault(payload) if fault is not None else None
                result = replaced if replaced is not None else \
                    getattr(self._module(reg, env), reg.handler_attr)(payload, ctx)
            body = json.dumps(result, default=str)
        except Exception as exc:  # noqa: BLE001 - every handler error becomes a Lambda function error
            errored = True
            body = json.dumps({"errorMessage": str(exc)[:2000], "errorType": type(exc).__name__,
                               "stackTrace": traceback.format_exception(exc)[-5:]})
        self.invocations.append((fn.function_name, (time.perf_counter() - t0) * 1000, errored))
        return body, errored, ""

    def install(self) -> None:
        from moto.awslambda import models

        if self._original is None:
            self._original = models.LambdaFunction._invoke_lambda
        runner = self

        def _invoke_lambda(fn_self: Any, event: Any = None) -> tuple[str, bool, str]:
            return runner.invoke(fn_self, event)

        models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.awslambda import models

        if self._original is not None:
            models.LambdaFunction._invoke_lambda = self._original  # type: ignore[method-assign]
            self._original = None
