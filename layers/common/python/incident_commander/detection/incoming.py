"""One alert as the detection engine receives it, with the full model built only when needed.

In a storm nearly every alert repeats one already known: the engine needs only its identity,
status and time to count it. `Incoming` holds those few fields (from a packed record's index,
`records.py`, or a plain alert document) and decodes and validates the full canonical `Alert`
lazily, the first time correlation needs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..models import Alert, AlertStatus
from ..timeutil import parse_iso
from .records import Packed, RecordError

_STATUSES = frozenset(s.value for s in AlertStatus)


class BadAlertDocument(ValueError):
    """A stream document that is not a canonical alert; the message names the field."""


class Incoming:
    __slots__ = ("source", "key", "status", "received_at", "starts_at", "event_time", "scope", "origin", "_doc",
                 "_alert")

    def __init__(self, source: str, key: str, status: str, received_at: datetime, starts_at: datetime | None,
                 scope: str | None = None, origin: tuple[str, int] | None = None,
                 doc: dict[str, Any] | tuple[Packed, int, int] | None = None, alert: Alert | None = None):
        self.source, self.key, self.status = source, key, status
        self.received_at, self.starts_at = received_at, starts_at
        self.event_time = starts_at or received_at
        self.scope = scope  # correlation scope, when the writer already computed it
        self.origin = origin  # ("<shard>|<partition key>", sequence number) of the stream record
        self._doc, self._alert = doc, alert

    @classmethod
    def of(cls, alert: Alert, scope: str | None = None, origin: tuple[str, int] | None = None) -> Incoming:
        return cls(alert.source, alert.key, alert.status.value, alert.received_at, alert.starts_at, scope, origin,
                   alert=alert)

    @classmethod
    def from_index(cls, entry: Any, i: int, source: str, received_at: datetime, scope: str,
                   origin: tuple[str, int] | None, packed: Packed) -> Incoming:
        """From a packed record's index entry `[key, status, starts_at, offset, length]` (the storm path:
        checks kept to what a wrong type would otherwise break)."""
        try:
            key, status, starts, offset, length = entry
        except (TypeError, ValueError):
            raise BadAlertDocument(f"alerts[{i}]: expected [key, status, starts_at, offset, length]") from None
        if type(key) is not str or not key:
            raise BadAlertDocument(f"alerts[{i}].key: expected a non-empty string")
        if status not in _STATUSES:
            raise BadAlertDocument(f"alerts[{i}].status: expected one of {sorted(_STATUSES)}")
        if type(offset) is not int or type(length) is not int or offset < 0 or length <= 0:
            raise BadAlertDocument(f"alerts[{i}]: offset and length must be positive integers")
        starts_at = None if starts is None else (
            type(starts) is str and _TIMES.get(starts) or _time(starts, None, f"alerts[{i}].starts_at"))
        return cls(source, key, status, received_at, starts_at, scope, origin, (packed, offset, length))

    @classmethod
    def from_doc(cls, doc: Any, scope: str | None, origin: tuple[str, int] | None,
                 times: dict[str, datetime]) -> Incoming:
        """From a canonical alert document; `times` caches parsed timestamps across one batch."""
        if not isinstance(doc, dict):
            raise BadAlertDocument("alert: expected an object")
        source, key, status, received = doc.get("source"), doc.get("key"), doc.get("status"), doc.get("received_at")
        if not isinstance(source, str) or not source:
            raise BadAlertDocument("alert.source: expected a non-empty string")
        if not isinstance(key, str) or not key:
            raise BadAlertDocument("alert.key: expected a non-empty string")
        if status not in _STATUSES:
            raise BadAlertDocument(f"alert.status: expected one of {sorted(_STATUSES)}")
        received_at = _time(received, times, "alert.received_at")
        starts = doc.get("starts_at")
        starts_at = _time(starts, times, "alert.starts_at") if starts else None
        return cls(source, key, status, received_at, starts_at, scope, origin, doc=doc)

    @property
    def alert(self) -> Alert | None:
        """The validated canonical alert (None when the document does not validate)."""
        if self._alert is None and self._doc is not None:
            try:
                doc = self._doc[0].alert(*self._doc[1:]) if isinstance(self._doc, tuple) else self._doc
                self._alert = Alert.model_validate(doc)
            except (ValidationError, RecordError):
                self._doc = None
        return self._alert


_TIMES: dict[str, datetime] = {}  # parsed timestamps, shared by the batches of a warm container
_TIMES_CAP = 50_000


def _time(value: Any, cache: dict[str, datetime] | None, field: str) -> datetime:
    """A parsed ISO 8601 time; storms repeat the same start times, so each is parsed once."""
    t = _TIMES.get(value) if isinstance(value, str) else None
    if t is not None:
        return t
    if not isinstance(value, str):
        raise BadAlertDocument(f"{field}: expected an ISO 8601 string")
    try:
        t = parse_iso(value)
    except ValueError as exc:
        raise BadAlertDocument(f"{field}: not an ISO 8601 time") from exc
    if len(_TIMES) >= _TIMES_CAP:
        _TIMES.clear()
    _TIMES[value] = t
    return t
