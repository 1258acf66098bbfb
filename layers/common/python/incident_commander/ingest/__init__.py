"""One parser per alert source, each turning the tool's own payload into canonical Alerts.

`parse(source, body, received_at)` is the single entry point; a payload that cannot be used raises
PayloadError naming the offending field, which the API turns into a 400. No input raises anything
else (the parsers are fuzzed: tests/unit/test_ingest_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..models import Alert
from .errors import PayloadError, UnknownSourceError

Parser = Callable[[Any, datetime], list[Alert]]
MAX_ALERTS_PER_DELIVERY = 1000


def _registry() -> dict[str, Parser]:
    from . import alertmanager, cloudwatch, datadog, grafana, opsgenie, pagerduty

    return {
        "alertmanager": alertmanager.parse,
        "grafana": grafana.parse,
        "cloudwatch": cloudwatch.parse_eventbridge,
        "sns": cloudwatch.parse_sns,
        "pagerduty": pagerduty.parse,
        "opsgenie": opsgenie.parse,
        "datadog": datadog.parse,
    }


PARSERS: dict[str, Parser] = _registry()


def parse(source: str, body: Any, received_at: datetime) -> list[Alert]:
    parser = PARSERS.get(source)
    if parser is None:
        raise UnknownSourceError(source)
    try:
        alerts = parser(body, received_at)
    except ValidationError as exc:  # a value the canonical Alert refuses: still the sender's error
        first = exc.errors()[0]
        raise PayloadError(".".join(str(p) for p in first["loc"]) or "body", first["msg"]) from None
    except RecursionError:
        raise PayloadError("body", "nested too deeply") from None
    if len(alerts) > MAX_ALERTS_PER_DELIVERY:
        raise PayloadError("alerts", f"{len(alerts)} alerts in one delivery; the limit is {MAX_ALERTS_PER_DELIVERY}")
    return alerts


__all__ = ["PARSERS", "PayloadError", "UnknownSourceError", "parse", "MAX_ALERTS_PER_DELIVERY"]
