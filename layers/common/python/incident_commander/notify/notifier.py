"""Route an escalation to its contacts.

Contacts in the escalation policy are strings: `slack:<channel>` (an incoming webhook whose URL is
in the notification secret under `slack.<channel>`), `pagerduty:<service>` (an Events API v2
routing key under `pagerduty.<service>`), or a bare name (recorded, not delivered — e.g. a person
who watches the dashboard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..resilience import BreakerConfig, CircuitBreaker, RateLimited, StateStore, TokenBucket


class Sender(Protocol):
    def send(self, target: str, credential: str, message: dict[str, Any]) -> None:
        """Deliver or raise (DeliveryError or a transport error)."""


class DeliveryError(RuntimeError):
    def __init__(self, status: int | None, detail: str, retryable: bool):
        super().__init__(f"{status or 'no response'}: {detail}"[:300])
        self.status, self.retryable = status, retryable


@dataclass(frozen=True)
class Contact:
    kind: str  # slack | pagerduty | person
    target: str


def parse_contact(text: str) -> Contact:
    kind, sep, target = text.partition(":")
    if sep and kind in ("slack", "pagerduty"):
        return Contact(kind, target)
    return Contact("person", text)


@dataclass
class Delivery:
    contact: str
    delivered: bool
    detail: str = ""


@dataclass
class Notifier:
    senders: dict[str, Sender]
    credentials: Callable[[], dict[str, dict[str, str]]]
    state: StateStore
    breaker_config: BreakerConfig = field(default_factory=lambda: BreakerConfig(failure_threshold=5, window_seconds=60,
                                                                                open_seconds=60))
    wait_budget_seconds: float = 2.0
    clock: Callable[[], float] | None = None

    def _kw(self) -> dict[str, Any]:
        return {"clock": self.clock} if self.clock else {}

    def notify(self, contacts: list[str], message: dict[str, Any]) -> list[Delivery]:
        out: list[Delivery] = []
        for raw in contacts:
            c = parse_contact(raw)
            if c.kind == "person":
                out.append(Delivery(raw, False, "no delivery channel (watches the dashboard)"))
                continue
            credential = (self.credentials().get(c.kind) or {}).get(c.target)
            if not credential:
                out.append(Delivery(raw, False, f"no {c.kind} credential configured for {c.target!r}"))
                continue
            breaker = CircuitBreaker(c.kind, self.state, self.breaker_config, **self._kw())
            if not breaker.allow():
                out.append(Delivery(raw, False, f"{c.kind} circuit open: not called"))
                continue
            bucket = TokenBucket.for_service(f"{c.kind}:{c.target}", self.state, **self._kw())
            try:
                bucket.acquire(budget_seconds=self.wait_budget_seconds)
            except RateLimited as exc:
                out.append(Delivery(raw, False, f"rate limited ({exc.wait:.1f}s to the next slot): not sent"))
                continue
            try:
                self.senders[c.kind].send(c.target, credential, message)
            except DeliveryError as exc:
                if exc.retryable:
                    breaker.record_failure(str(exc))
                out.append(Delivery(raw, False, str(exc)))
                continue
            except OSError as exc:  # connection refused, timeout
                breaker.record_failure(f"{type(exc).__name__}: {exc}")
                out.append(Delivery(raw, False, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            breaker.record_success()
            out.append(Delivery(raw, True, "delivered"))
        return out
