"""Per-invocation environment variables for handlers running in-process.

Each Lambda function has its own environment. Locally several functions run in one process (and
in parallel threads, for Parallel states), so `os.environ` is replaced once by a mapping that
consults a context-local overlay first: inside `function_environment(env)` the calling thread sees
exactly that function's variables on top of the process's own.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

_overlay: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("ic_env_overlay", default=None)


class LayeredEnviron(MutableMapping[str, str]):
    def __init__(self, base: MutableMapping[str, str]):
        self.base = base

    def __getitem__(self, key: str) -> str:
        layer = _overlay.get()
        if layer is not None and key in layer:
            return layer[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.base[key] = value

    def __delitem__(self, key: str) -> None:
        del self.base[key]

    def __iter__(self) -> Iterator[str]:
        layer = _overlay.get()
        seen = set()
        if layer is not None:
            for k in layer:
                seen.add(k)
                yield k
        for k in self.base:
            if k not in seen:
                yield k

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self.items())

    # os._Environ API used by some libraries
    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def install() -> None:
    if not isinstance(os.environ, LayeredEnviron):
        os.environ = LayeredEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - wraps, keeps all


@contextlib.contextmanager
def function_environment(env: Mapping[str, str]) -> Iterator[None]:
    install()
    token = _overlay.set(dict(env))
    try:
        yield
    finally:
        _overlay.reset(token)
