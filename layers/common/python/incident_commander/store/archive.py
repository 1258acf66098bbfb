"""The S3 archive of closed incidents' events, and reading an incident's whole chain across it.

An archive object holds events 1..N exactly as stored (so their hashes still verify), as one
canonical JSON document. The `incident.archived` event that follows them in the table records
the object's key and SHA-256, so the archive is itself covered by the chain: a modified archive
object is detected by its digest, a modified event inside it by its hash.
"""

from __future__ import annotations

import abc
import hashlib
import json
from typing import Any

from .. import names as n
from ..models.incident import IncidentState
from .integrity import VerifyResult, verify_incident_items
from .port import EventStore

FORMAT = 1


class ArchiveError(RuntimeError):
    """The archive object is missing or does not match the digest the chain recorded."""


class ArchiveStore(abc.ABC):
    bucket: str

    @abc.abstractmethod
    def put(self, key: str, body: bytes, sha256_hex: str) -> None:
        """Store `body` under `key`; the store checks the digest on arrival."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; ArchiveError when there is none."""


class InMemoryArchive(ArchiveStore):
    def __init__(self, bucket: str = "archive") -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, sha256_hex: str) -> None:
        if hashlib.sha256(body).hexdigest() != sha256_hex:
            raise ArchiveError(f"{key}: digest mismatch on upload")
        self.objects[key] = body

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise ArchiveError(f"s3://{self.bucket}/{key} does not exist")
        return self.objects[key]


def archive_key(incident_id: str, head_hash: str) -> str:
    return f"incidents/{incident_id}/{head_hash}.json"


def encode(incident_id: str, items: list[dict[str, Any]]) -> bytes:
    events = [{k: v for k, v in i.items() if k != n.TTL_ATTRIBUTE} for i in items]
    doc = {"format": FORMAT, "incident_id": incident_id, "events": events,
           "head_hash": events[-1]["hash"] if events else None}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(body: bytes) -> list[dict[str, Any]]:
    doc = json.loads(body)
    if doc.get("format") != FORMAT:
        raise ArchiveError(f"archive format {doc.get('format')!r} is not {FORMAT}")
    return list(doc["events"])


def full_items(store: EventStore, incident_id: str, state: IncidentState, archive: ArchiveStore | None,
               live: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every event of the incident, in order: archived ones from S3, the rest from the table (`live`,
    when already read).

    Returns (items, how many came from the archive). Raises ArchiveError when the incident was
    archived and the object is gone, unreadable here, or not the one the chain recorded.
    """
    live = store.read_items(incident_id) if live is None else live
    meta = state.archive
    if meta is None:
        return live, 0
    if archive is None:
        raise ArchiveError(f"events 1..{meta['events']} are archived in s3://{meta['bucket']}/{meta['key']} "
                           "and no archive bucket is configured here")
    body = archive.get(meta["key"])
    digest = hashlib.sha256(body).hexdigest()
    if digest != meta["sha256"]:
        raise ArchiveError(f"s3://{meta['bucket']}/{meta['key']} was modified: its SHA-256 is {digest}, "
                           f"the chain recorded {meta['sha256']}")
    archived = decode(body)[:meta["events"]]
    return archived + [i for i in live if int(i["seq"]) > meta["events"]], len(archived)


def read_verified(store: EventStore, incident_id: str, state: IncidentState,
                  archive: ArchiveStore | None = None) -> tuple[list[dict[str, Any]], VerifyResult]:
    """The incident's whole chain (archive + table) and its verification against the projection."""
    fresh, live = store.snapshot(incident_id, state)
    state = fresh or state
    try:
        items, archived = full_items(store, incident_id, state, archive, live)
    except ArchiveError as exc:
        return live, VerifyResult(incident_id=incident_id, ok=False, events=len(live), first_bad_seq=1,
                                  problem=str(exc))
    result = verify_incident_items(incident_id, items, state)
    result.archived_events = archived
    return items, result


def verify_incident(store: EventStore, incident_id: str, archive: ArchiveStore | None = None,
                    state: IncidentState | None = None) -> VerifyResult | None:
    """Verify an incident's whole chain against its projection (None: no such incident)."""
    state = state or store.get_head(incident_id)  # verification compares what is stored
    if state is None:
        return None
    return read_verified(store, incident_id, state, archive)[1]
