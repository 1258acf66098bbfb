"""The hash chain: each event's SHA-256 covers its canonical form and the previous event's hash.

Canonical form: the hashed fields as JSON with sorted keys, no spaces, UTF-8, times in the one ISO
format of `timeutil.iso`, `data` embedded as its own canonical JSON string (exactly as stored).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = ("incident_id", "seq", "type", "schema_version", "at", "recorded_at", "actor", "data",
                 "idempotency_key", "prev_hash")


def canonical_data(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical form of the hashed fields (`data` as its canonical string)."""
    body = {k: fields.get(k) for k in HASHED_FIELDS}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
