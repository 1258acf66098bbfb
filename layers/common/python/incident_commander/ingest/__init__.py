"""One parser per alert source, each turning the tool's own payload into canonical Alerts.

`parse(source, body, received_at)` is the single entry point; a payload that cannot be used raises
PayloadError naming the offending field, which the API turns into a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..models import Alert
from .errors import PayloadError, UnknownSourceError

Parser = Callable[[Any, datetime], list[Alert]]
MAX_ALERTS_PER_DELIVERY = 1000


def _registry() -> dict[str, Parser]:
    from . import alertmanager, cloudwatch

    return {
        "alertmanager": alertmanager.parse,
        "cloudwatch": cloudwatch.parse_eventbridge,
        "sns": cloudwatch.parse_sns,
    }


PARSERS: dict[str, Parser] = _registry()


def parse(source: str, body: Any, received_at: datetime) -> list[Alert]:
    parser = PARSERS.get(source)
    if parser is None:
        raise UnknownSourceError(source)
    alerts = parser(body, received_at)
    if len(alerts) > MAX_ALERTS_PER_DELIVERY:
        raise PayloadError("alerts", f"{len(alerts)} alerts in one delivery; the limit is {MAX_ALERTS_PER_DELIVERY}")
    return alerts


__all__ = ["PARSERS", "PayloadError", "UnknownSourceError", "parse", "MAX_ALERTS_PER_DELIVERY"]
