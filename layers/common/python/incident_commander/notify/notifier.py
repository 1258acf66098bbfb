"""Route an escalation to its contacts.

Contacts in the escalation policy are strings: `slack:<channel>` (an incoming webhook whose URL is
in the notification secret under `slack.<channel>`), `pagerduty:<service>` (an Events API v2
routing key under `pagerduty.<service>`), or a bare name (recorded, not delivered — e.g. a person
who watches the dashboard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..resilience import CircuitBreaker, RateLimited

if TYPE_CHECKING:
    from ..resilience.runtime import Resilience


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
    resilience: Resilience  # the shared breakers (one per channel kind) and rate limits (per channel)
    wait_budget_seconds: float = 2.0

    def notify(self, contacts: list[str], message: dict[str, Any]) -> list[Delivery]:
        """One Delivery per contact, in order; never raises."""
        out: list[Delivery] = []
        for raw in contacts:
            try:
                out.append(self._one(raw, message))
            except Exception as exc:  # noqa: BLE001 - a notification must never block the escalation
                out.append(Delivery(raw, False, f"{type(exc).__name__}: {exc}"[:300]))
        return out

    def _one(self, raw: str, message: dict[str, Any]) -> Delivery:
        c = parse_contact(raw)
        if c.kind == "person":
            return Delivery(raw, False, "no delivery channel (watches the dashboard)")
        credential = (self.credentials().get(c.kind) or {}).get(c.target)
        if not credential:
            return Delivery(raw, False, f"no {c.kind} credential configured for {c.target!r}")
        breaker = self.resilience.breaker(c.kind)
        if not breaker.allow():
            self.resilience.refused(c.kind)
            return Delivery(raw, False, f"{c.kind} circuit open: not called")
        try:
            self.resilience.bucket(f"{c.kind}:{c.target}").acquire(budget_seconds=self.wait_budget_seconds)
        except RateLimited as exc:
            breaker.release()
            return Delivery(raw, False, f"rate limited ({exc.wait:.1f}s to the next slot): not sent")
        return self._send(raw, c, credential, message, breaker)

    def _send(self, raw: str, c: Contact, credential: str, message: dict[str, Any], breaker: CircuitBreaker
              ) -> Delivery:
        try:
            self.senders[c.kind].send(c.target, credential, message)
        except DeliveryError as exc:
            if exc.retryable:  # 429 and 5xx count against the service; a 4xx is our request's fault
                breaker.record_failure(str(exc))
            else:
                breaker.record_success()
            return Delivery(raw, False, str(exc))
        except OSError as exc:  # connection refused, timeout
            breaker.record_failure(f"{type(exc).__name__}: {exc}")
            return Delivery(raw, False, f"{type(exc).__name__}: {exc}"[:300])
        breaker.record_success()
        return Delivery(raw, True, "delivered")


def from_env(resilience: Resilience, environ: Any = None) -> Notifier:
    """The escalation function's notifier: HTTP senders, credentials from the `IC_NOTIFY_SECRET` secret
    (re-read after its TTL, so added channels need no redeploy), limits and breakers from `resilience`."""
    import os

    from .. import names as n
    from ..adapters.http_notify import PagerDutyEventsSender, SlackWebhookSender
    from ..adapters.secrets import JsonSecret

    env = os.environ if environ is None else environ
    secret = env.get(n.ENV_NOTIFY_SECRET)
    cfg = resilience.config
    return Notifier({"slack": SlackWebhookSender(), "pagerduty": PagerDutyEventsSender(cfg.pagerduty_events_url)},
                    JsonSecret(secret).get if secret else dict, resilience, cfg.wait_budget_seconds)
