"""Dependencies of the agents, built once per Lambda container from its environment.

Handlers call `Deps.from_env()` at cold start and pass the result into the logic; tests build a
Deps from in-memory fakes instead. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import names as n
from .clock import SHARED, system_clock
from .config import Settings
from .detection.ports import DetectionStore, Workflow
from .store.port import EventStore
from .topology import Topology

TOPOLOGY_TTL_SECONDS = 30.0


class TopologyCache:
    """The topology from the control table, re-read at most every TTL seconds."""

    def __init__(self, load: Callable[[], str | None], ttl: float = TOPOLOGY_TTL_SECONDS):
        self._load = load
        self._ttl = ttl
        self._value: Topology | None = None
        self._text: str | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> Topology:
        now = time.monotonic()
        if self._value is None or now - self._at > self._ttl:
            with self._lock:
                text = self._load()
                if self._value is None or text != self._text:
                    self._value = Topology.parse_yaml(text, "control-table topology") if text else Topology()
                    self._text = text
                self._at = now
        return self._value  # type: ignore[return-value]

    def invalidate(self) -> None:
        self._value = None


@dataclass
class Deps:
    settings: Settings
    events: EventStore
    topology: Callable[[], Topology]
    detection: DetectionStore | None = None
    workflow: Workflow | None = None
    control: Any = None  # adapters.control.ControlStore (or a fake with the same methods)
    archive: Any = None  # store.archive.ArchiveStore when IC_ARCHIVE_BUCKET is set (archived events)
    clock: Callable[[], datetime] = system_clock
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Deps:
        from .adapters.control import ControlStore
        from .adapters.dynamodb import event_store_from_env

        env = os.environ if environ is None else environ
        settings = Settings.from_env(env)
        control = ControlStore(env[n.ENV_CONTROL_TABLE])
        deps = cls(settings=settings,
                   events=event_store_from_env(env),
                   topology=TopologyCache(control.get_topology_yaml,
                                          float(env.get("IC_TOPOLOGY_TTL_SECONDS", TOPOLOGY_TTL_SECONDS))),
                   control=control,
                   clock=SHARED if env.get("IC_CLOCK") == "virtual" else system_clock)
        if env.get(n.ENV_DETECTION_TABLE):
            from .adapters.detection_store import DynamoDetectionStore

            deps.detection = DynamoDetectionStore(env[n.ENV_DETECTION_TABLE])
        if env.get(n.ENV_STATE_MACHINE_ARN):
            from .adapters.stepfunctions import StepFunctionsWorkflow

            deps.workflow = StepFunctionsWorkflow(env[n.ENV_STATE_MACHINE_ARN])
        if settings.store.archive_bucket:
            from .adapters.s3 import S3Archive

            deps.archive = S3Archive(settings.store.archive_bucket)
        return deps
