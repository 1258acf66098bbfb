"""Small typed accessors shared by the parsers, so every error names its field."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from .errors import PayloadError

_ZERO_TIME_PREFIX = "0001-01-01"


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(field, f"expected an object, got {type(value).__name__}")
    return value


def lst(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(field, f"expected a list, got {type(value).__name__}")
    return value


def text(value: Any, field: str, required: bool = True, max_len: int = 4096) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PayloadError(field, "expected a non-empty string" if required else "expected a string")
    if len(value) > max_len:
        raise PayloadError(field, f"longer than {max_len} characters")
    return value


def str_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    m = obj(value, field)
    out: dict[str, str] = {}
    for k, v in m.items():
        if isinstance(v, (dict, list)):
            raise PayloadError(f"{field}.{k}", "expected a scalar value")
        out[str(k)] = "" if v is None else str(v)
    return out


def when(value: Any, field: str, required: bool = False) -> datetime | None:
    """An RFC 3339 / ISO 8601 time (or epoch seconds/milliseconds); Alertmanager's zero time is None."""
    if value in (None, ""):
        if required:
            raise PayloadError(field, "missing timestamp")
        return None
    if isinstance(value, bool):
        raise PayloadError(field, "expected a timestamp")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 16:
        value = int(value.strip())  # epoch seconds or milliseconds as text (Datadog's $DATE)
    if isinstance(value, (int, float)):
        secs = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(secs, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError(field, "timestamp out of range") from exc
    if not isinstance(value, str):
        raise PayloadError(field, "expected a timestamp string")
    if value.startswith(_ZERO_TIME_PREFIX):
        return None
    s = value.strip().replace("Z", "+00:00")
    # CloudWatch uses +0000 (no colon) in SNS notifications
    if len(s) > 5 and s[-5] in "+-" and s[-4:].isdigit() and s[-3] != ":":
        s = f"{s[:-2]}:{s[-2:]}"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as exc:
        raise PayloadError(field, f"not a timestamp: {value[:40]!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex key from a label set, for payloads that carry no fingerprint of their own."""
    h = hashlib.sha256("\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items())).encode()).hexdigest()
    return h[:16]


def scalars(value: Any, limit: int = 50) -> dict[str, str]:
    """Top-level scalar entries of a free-form object (custom details), stringified; the rest is skipped."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, str] = {}
    for k, v in value.items():
        if len(out) >= limit:
            break
        if isinstance(v, (str, int, float, bool)) and len(str(k)) <= 256:
            out[str(k)] = str(v)[:1024]
    return out


def tag_labels(tags: Any, field: str, limit: int = 100) -> dict[str, str]:
    """`key:value` / `key=value` tags (a list, or one comma-separated string) as labels; bare tags map to ""."""
    if tags is None or tags == "":
        return {}
    if isinstance(tags, str):
        items: list[Any] = tags.split(",")
    elif isinstance(tags, list):
        items = tags
    else:
        raise PayloadError(field, f"expected a list or a comma-separated string, got {type(tags).__name__}")
    out: dict[str, str] = {}
    for i, t in enumerate(items[:limit]):
        if not isinstance(t, str):
            raise PayloadError(f"{field}[{i}]", "expected a string")
        t = t.strip()
        if not t:
            continue
        k, sep, v = t.partition(":") if ":" in t else t.partition("=")
        out.setdefault(k.strip()[:256], v.strip()[:1024] if sep else "")
    return out


def digest(*parts: str) -> str:
    """A stable 16-hex key from text parts, for payloads that carry no identity of their own."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
