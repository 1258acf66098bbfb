"""Notifying people: Slack and PagerDuty behind circuit breakers and their documented rate limits.

A notification that cannot be delivered never blocks or fails the incident: the escalation still
waits for an answer (API, dashboard), and the timeline records what was and was not delivered.
"""

from .notifier import Delivery, Notifier, parse_contact

__all__ = ["Delivery", "Notifier", "parse_contact"]
