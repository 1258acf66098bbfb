"""The alert record format on the stream: a small index up front, the full alerts after it.

In a storm nearly every alert repeats one already known, and detection needs only its identity,
status and start time to count it. Kinesis hands records to Lambda base64-encoded, and decoding
base64 is the largest per-alert cost, so a record is laid out for partial decoding:

    b"IC\\x03" | header length (3 bytes, big-endian) | zlib(header JSON) | zlib(alert 1 JSON alert 2 JSON ...)

The header (`{"scope", "source", "received_at", "alerts": [[key, status, starts_at, offset, length],
...]}`) is decoded alone: the first 6 bytes are exactly 8 base64 characters, and any byte range maps
to a whole number of 4-character groups. The alerts (the canonical `Alert`, raw payload included;
offsets into the decompressed run) are decompressed once per record, only when detection meets one
of its keys for the first time or sees a status change. Both parts are zlib-compressed because
Kinesis bills the bytes put and read: alerts of one delivery repeat each other's label names and
values, and a record is about 12x smaller compressed (1.7 KB an alert plain, ~140 bytes packed).
`IC\\x02` records (the same layout uncompressed, written by earlier versions) still decode.
Records without a prefix are JSON documents: CloudWatch alarm events put on the stream by
EventBridge, and the earlier `{"kind": "alerts", "alerts": [...]}` form.
"""

from __future__ import annotations

import binascii
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from ..models import Alert

MAGIC = b"IC\x03"  # compressed
MAGIC_PLAIN = b"IC\x02"  # uncompressed, read only
PREFIX = 6  # magic + 3-byte header length: exactly 8 base64 characters
MAX_RECORD_BYTES = 900_000  # alerts' JSON per record before compression (Kinesis accepts 1 MiB per record)
MAX_INFLATED = 4 * MAX_RECORD_BYTES  # refuse a record whose parts inflate past this (a zip bomb)
LEVEL = 6  # zlib: level 1 is ~15% larger for little speed the api function needs
INFLATED_KEPT = 16  # records whose alerts stay inflated: a batch's memory does not grow with its records
_inflated: deque[Packed] = deque()


class RecordError(ValueError):
    """A record that does not decode; the message says where."""


def encode(alerts: Iterable[Alert], scope_of: Callable[[Alert], str]) -> list[tuple[bytes, str]]:
    """Stream records (data, partition key): alerts of one correlation scope go on one shard, in order."""
    groups: dict[tuple[str, str, str], list[Alert]] = {}
    for a in alerts:
        groups.setdefault((scope_of(a), a.source, a.received_at.isoformat()), []).append(a)
    out: list[tuple[bytes, str]] = []
    for (scope, source, received), members in groups.items():
        index: list[list[Any]] = []
        blobs: list[bytes] = []
        size = 0
        for a in members:
            doc = orjson.dumps(a.model_dump(mode="json"))
            if index and size + len(doc) > MAX_RECORD_BYTES:
                out.append((_pack(scope, source, received, index, blobs), scope))
                index, blobs, size = [], [], 0
            index.append([a.key, a.status.value, a.starts_at.isoformat() if a.starts_at else None, size, len(doc)])
            blobs.append(doc)
            size += len(doc)
        out.append((_pack(scope, source, received, index, blobs), scope))
    return out


def _pack(scope: str, source: str, received: str, index: list[list[Any]], blobs: list[bytes]) -> bytes:
    header = zlib.compress(orjson.dumps({"scope": scope, "source": source, "received_at": received,
                                         "alerts": index}), LEVEL)
    return MAGIC + len(header).to_bytes(3, "big") + header + zlib.compress(b"".join(blobs), LEVEL)


class Packed:
    """A base64 record in the packed layout: its header, and each alert on demand."""

    __slots__ = ("data", "header", "_payload", "_compressed", "_alerts")

    def __init__(self, data: str, header: dict[str, Any], payload: int, compressed: bool = True):
        self.data, self.header, self._payload, self._compressed = data, header, payload, compressed
        self._alerts: bytes | None = None

    def alert(self, offset: int, length: int) -> dict[str, Any]:
        if self._compressed:  # inflate the whole run once, on first use
            if self._alerts is None:
                first = self._payload // 3 * 4
                self._alerts = _inflate(_b64(self.data[first:])[self._payload - first // 4 * 3:], "alerts")
                _inflated.append(self)
                if len(_inflated) > INFLATED_KEPT:
                    _inflated.popleft()._alerts = None  # inflated again if ever needed
            blob, skip = self._alerts, offset
        else:  # plain: decode only this alert's base64 groups
            start = self._payload + offset
            first = start // 3 * 4
            blob = _b64(self.data[first:-(-(start + length) // 3) * 4])
            skip = start - first // 4 * 3
        try:
            doc = orjson.loads(blob[skip:skip + length])
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"alert at {offset}: not JSON") from exc
        if not isinstance(doc, dict):
            raise RecordError(f"alert at {offset}: expected a JSON object")
        return doc


def decode(data: Any) -> Packed | Any:
    """A Packed record, or the JSON document of an unpacked one (RecordError when neither)."""
    if not isinstance(data, str):
        raise RecordError("data: expected a base64 string")
    head = _b64(data[:8])
    if head[:3] not in (MAGIC, MAGIC_PLAIN):
        try:
            return orjson.loads(_b64(data))
        except orjson.JSONDecodeError as exc:
            raise RecordError("data: neither a packed alert record nor JSON") from exc
    compressed = head[:3] == MAGIC
    size = int.from_bytes(head[3:6], "big")
    end = PREFIX + size
    raw = _b64(data[:-(-end // 3) * 4])[PREFIX:end]
    try:
        header = orjson.loads(_inflate(raw, "header") if compressed else raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError("header: not JSON") from exc
    if not isinstance(header, dict):
        raise RecordError("header: expected a JSON object")
    return Packed(data, header, end, compressed)


def _inflate(blob: bytes, part: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(blob, MAX_INFLATED)
    except zlib.error as exc:
        raise RecordError(f"{part}: not zlib-compressed ({exc})") from exc
    if inflater.unconsumed_tail:
        raise RecordError(f"{part}: inflates past {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise RecordError(f"{part}: truncated")
    return out


def _b64(chunk: str) -> bytes:
    try:
        return binascii.a2b_base64(chunk, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordError(f"data: not base64 ({exc})") from exc
