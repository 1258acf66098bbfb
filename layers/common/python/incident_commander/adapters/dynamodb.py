"""DynamoDB adapters: the event store (events + projections in one transaction), per region."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .. import names as n
from ..models.events import StoredEvent
from ..models.incident import IncidentState
from ..store.port import ConcurrencyError, EventStore, Page, StoreUnavailable, from_item, to_item
from ..timeutil import iso
from . import aws

_ser = TypeSerializer()
_de = TypeDeserializer()


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items() if v is not None}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: _de.deserialize(v) for k, v in item.items()}
    for k, v in out.items():
        if type(v).__name__ == "Decimal":
            out[k] = int(v) if v == int(v) else float(v)
    return out


HASHES = ("prev_hash", "hash")


def event_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """An event item as the events table stores it: `data` packed and the hashes as their 32 bytes.
    A typical event then fits one write unit, which it pays twice in its append's transaction and
    again in every replica region. `event_item` gives back exactly the item that was hashed."""
    out = dict(item)
    out["data"] = packed(item["data"])
    for k in HASHES:
        v = out.get(k)
        if isinstance(v, str) and len(v) == 64:
            out[k] = bytes.fromhex(v)
    return marshal(out)


def event_item(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event's item (an events-table item or a stream image), whichever way it was stored:
    attributes written as plain strings (before packing, or by hand) read as they are."""
    item = unmarshal({k: v for k, v in attrs.items() if k != "data" and k not in HASHES})
    if "data" in attrs:
        data = unpacked(attrs["data"])
        item["data"] = data.decode() if isinstance(data, bytes) else data
    for k in HASHES:
        if k in attrs:
            item[k] = _binary(attrs[k]["B"]).hex() if "B" in attrs[k] else attrs[k]["S"]
    return item


def _binary(value: bytes | str) -> bytes:
    """A binary attribute: bytes from boto3, base64 text in a Lambda event's stream image."""
    return base64.b64decode(value) if isinstance(value, str) else value


def region_unavailable(exc: BaseException) -> bool:
    """A failure of the region rather than of the request: network, 5xx, or throttling that
    outlasted botocore's retries. Readers fail over on these (store.failover)."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") in THROTTLED
    return isinstance(exc, (BotoConnectionError, HTTPClientError))


THROTTLED = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})


def packed(text: str) -> bytes:
    """A JSON document as stored in a hot item: zlib-compressed, since write units are billed per KB
    (about 5x smaller here; the projection is rewritten by every append, twice in its transaction)."""
    return zlib.compress(text.encode(), 6)


def unpacked(attr: Mapping[str, Any]) -> bytes | str:
    """The JSON of a `packed` attribute, or of a plain string one written before."""
    return zlib.decompress(_binary(attr["B"])) if "B" in attr else attr["S"]


def _stored(attr: dict[str, Any]) -> IncidentState:
    return IncidentState.from_stored(unpacked(attr))


class DynamoEventStore(EventStore):
    def __init__(self, events_table: str, incidents_table: str, client: Any = None):
        self.events_table = events_table
        self.incidents_table = incidents_table
        self.ddb = client or aws.client("dynamodb")
        self.region = self.ddb.meta.region_name or "unknown"

    @contextmanager
    def _region(self) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            if region_unavailable(exc):
                raise StoreUnavailable(self.region, exc) from exc
            raise

    def get_head(self, incident_id: str) -> IncidentState | None:
        with self._region():
            r = self.ddb.get_item(TableName=self.incidents_table, Key={n.INCIDENTS_PK: {"S": incident_id}},
                                  ConsistentRead=True)
        item = r.get("Item")
        return _stored(item["state"]) if item else None

    def read_items(self, incident_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.events_table, "ConsistentRead": True,
            "KeyConditionExpression": "#pk = :id",
            "ExpressionAttributeNames": {"#pk": n.EVENTS_PK},
            "ExpressionAttributeValues": {":id": {"S": incident_id}},
        }
        while True:
            with self._region():
                r = self.ddb.query(**kwargs)
            out.extend(event_item(i) for i in r.get("Items", []))
            if "LastEvaluatedKey" not in r:
                return out
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]

    def _projection_item(self, state: IncidentState) -> dict[str, Any]:
        opened = iso(state.opened_at) if state.opened_at else ""
        item = {
            n.INCIDENTS_PK: state.incident_id, "version": state.version,
            "state": packed(state.stored_json()),
            n.INCIDENTS_LIST_PK: n.INCIDENTS_LIST_PARTITION, n.INCIDENTS_LIST_SK: f"{opened}#{state.incident_id}",
            # readable in the console beside the compressed state; each byte is billed on every append
            "status": state.status.value, "severity": state.severity,
        }
        if state.awaits_archive:  # sparse index: only incidents the archiver still has to visit
            item[n.INCIDENTS_CLOSED_PK] = n.INCIDENTS_CLOSED_PARTITION
            item[n.INCIDENTS_CLOSED_SK] = f"{iso(state.resolved_at)}#{state.incident_id}"  # type: ignore[arg-type]
        return item

    def _commit(self, incident_id: str, expected_version: int, events: list[StoredEvent],
                state: IncidentState) -> list[StoredEvent] | None:
        items: list[dict[str, Any]] = []
        for e in events:
            items.append({"Put": {"TableName": self.events_table, "Item": event_attributes(to_item(e)),
                                  "ConditionExpression": "attribute_not_exists(#pk)",
                                  "ExpressionAttributeNames": {"#pk": n.EVENTS_PK}}})
        markers = [e for e in events if e.idempotency_key]
        for e in markers:
            items.append({"Put": {"TableName": self.incidents_table,
                                  "Item": marshal({n.INCIDENTS_PK: self._marker(incident_id, e.idempotency_key),
                                                   "seq": e.seq}),
                                  "ConditionExpression": "attribute_not_exists(#pk)",
                                  "ExpressionAttributeNames": {"#pk": n.INCIDENTS_PK}}})
        put: dict[str, Any] = {"TableName": self.incidents_table, "Item": marshal(self._projection_item(state)),
                               "ConditionExpression": "attribute_not_exists(#pk)",
                               "ExpressionAttributeNames": {"#pk": n.INCIDENTS_PK},
                               # a conflict returns the projection that won: the retry needs no re-read
                               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        if expected_version:
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
            put["ConditionExpression"] = "attribute_exists(#pk) AND version = :v"
        items.append({"Put": put})
        try:
            with self._region():
                self.ddb.transact_write_items(TransactItems=items)
        except self.ddb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            codes = [r.get("Code") for r in reasons]
            seen = [e for e, code in zip(markers, codes[len(events):len(events) + len(markers)], strict=False)
                    if code == "ConditionalCheckFailed"]
            if seen:
                return self._existing(incident_id, seen)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                won = reasons[-1].get("Item") if reasons and codes[-1] == "ConditionalCheckFailed" else None
                current = _stored(won["state"]) if won and "state" in won else None
                raise ConcurrencyError(f"{incident_id}: version {expected_version} is stale", current) from exc
            raise
        return None

    @staticmethod
    def _marker(incident_id: str, key: str | None) -> str:
        return f"{n.IDEMPOTENCY_PREFIX}{incident_id}#{key}"

    def _existing(self, incident_id: str, events: list[StoredEvent]) -> list[StoredEvent]:
        """The events stored earlier under these events' idempotency keys."""
        out: list[StoredEvent] = []
        for e in events:
            with self._region():
                r = self.ddb.get_item(TableName=self.incidents_table, ConsistentRead=True,
                                      Key={n.INCIDENTS_PK: {"S": self._marker(incident_id, e.idempotency_key)}})
                seq = int(r["Item"]["seq"]["N"])
                got = self.ddb.get_item(TableName=self.events_table, ConsistentRead=True,
                                        Key={n.EVENTS_PK: {"S": incident_id}, n.EVENTS_SK: {"N": str(seq)}})
            if "Item" in got:  # gone only once archived and expired
                out.append(from_item(event_item(got["Item"])))
        return out

    # --- maintenance: repair and retention --------------------------------------------------------
    def write_items(self, incident_id: str, items: Sequence[dict[str, Any]]) -> None:
        for item in items:
            if item[n.EVENTS_PK] != incident_id:
                raise ValueError(f"event {item.get('seq')} belongs to {item[n.EVENTS_PK]}, not {incident_id}")
            with self._region():
                self.ddb.put_item(TableName=self.events_table, Item=event_attributes(item))

    def delete_items(self, incident_id: str, seqs: Sequence[int]) -> None:
        for seq in seqs:
            with self._region():
                self.ddb.delete_item(TableName=self.events_table,
                                     Key={n.EVENTS_PK: {"S": incident_id}, n.EVENTS_SK: {"N": str(int(seq))}})

    def put_state(self, state: IncidentState, expected_version: int | None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.incidents_table, "Item": marshal(self._projection_item(state)),
                                  "ExpressionAttributeNames": {"#pk": n.INCIDENTS_PK}}
        if expected_version is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(#pk)"
        else:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        try:
            with self._region():
                self.ddb.put_item(**kwargs)
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            raise ConcurrencyError(f"{state.incident_id}: projection moved") from exc

    def expire(self, incident_id: str, items: Sequence[dict[str, Any]], expires_at: int) -> int:
        marked = 0
        ttl = {":t": {"N": str(int(expires_at))}}
        for item in items:
            try:
                with self._region():
                    self.ddb.update_item(
                        TableName=self.events_table,
                        Key={n.EVENTS_PK: {"S": incident_id}, n.EVENTS_SK: {"N": str(int(item["seq"]))}},
                        UpdateExpression="SET #ttl = :t", ConditionExpression="#hash IN (:h, :s)",  # packed, or as before
                        ExpressionAttributeNames={"#ttl": n.TTL_ATTRIBUTE, "#hash": "hash"},
                        ExpressionAttributeValues={**ttl, ":h": {"B": bytes.fromhex(item["hash"])},
                                                   ":s": {"S": item["hash"]}})
            except self.ddb.exceptions.ConditionalCheckFailedException:
                continue  # already gone, or not the event that was archived: left alone
            marked += 1
            if item.get("idempotency_key"):
                with self._region():
                    self.ddb.update_item(
                        TableName=self.incidents_table,
                        Key={n.INCIDENTS_PK: {"S": self._marker(incident_id, item["idempotency_key"])}},
                        UpdateExpression="SET #ttl = :t", ConditionExpression="attribute_exists(#pk)",
                        ExpressionAttributeNames={"#ttl": n.TTL_ATTRIBUTE, "#pk": n.INCIDENTS_PK},
                        ExpressionAttributeValues=ttl)
        return marked

    def closed_before(self, cutoff: datetime, limit: int = 100) -> list[IncidentState]:
        with self._region():
            r = self.ddb.query(
                TableName=self.incidents_table, IndexName=n.INCIDENTS_CLOSED_INDEX, Limit=limit,
                KeyConditionExpression="#p = :p AND #k < :cutoff",
                ExpressionAttributeNames={"#p": n.INCIDENTS_CLOSED_PK, "#k": n.INCIDENTS_CLOSED_SK},
                ExpressionAttributeValues={":p": {"S": n.INCIDENTS_CLOSED_PARTITION}, ":cutoff": {"S": iso(cutoff)}})
        return [_stored(i["state"]) for i in r.get("Items", [])]

    def list_states(self, limit: int = 50, cursor: str | None = None,
                    predicate: Callable[[IncidentState], bool] | None = None) -> Page:
        """Newest first from the listing index; `predicate` filters in the adapter (bounded pages)."""
        out: list[IncidentState] = []
        start = json.loads(cursor) if cursor else None
        while len(out) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.incidents_table, "IndexName": n.INCIDENTS_LIST_INDEX,
                "KeyConditionExpression": "#p = :p", "ScanIndexForward": False, "Limit": max(limit, 25),
                "ExpressionAttributeNames": {"#p": n.INCIDENTS_LIST_PK},
                "ExpressionAttributeValues": {":p": {"S": n.INCIDENTS_LIST_PARTITION}},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            with self._region():
                r = self.ddb.query(**kwargs)
            last = None
            for raw in r.get("Items", []):
                s = _stored(raw["state"])
                last = {k: raw[k] for k in (n.INCIDENTS_PK, n.INCIDENTS_LIST_PK, n.INCIDENTS_LIST_SK)}
                if predicate is None or predicate(s):
                    out.append(s)
                    if len(out) == limit:
                        break
            if len(out) == limit and last is not None:
                return Page(out, json.dumps(last))
            if "LastEvaluatedKey" not in r:
                return Page(out, None)
            start = r["LastEvaluatedKey"]
        return Page(out, None)


def event_store_from_env(env: Mapping[str, str]) -> EventStore:
    """The home region's store; with `IC_REPLICA_REGIONS`, reads fail over to those regions' replicas
    of the same global tables (same names in every region)."""
    from ..config import StoreConfig, load_section
    from ..store.failover import FailoverEventStore

    events, incidents = env[n.ENV_EVENTS_TABLE], env[n.ENV_INCIDENTS_TABLE]
    home = DynamoEventStore(events, incidents)
    regions = load_section(StoreConfig, "IC_", env).replica_regions
    if not regions:
        return home
    return FailoverEventStore(home, [DynamoEventStore(events, incidents, aws.client("dynamodb", r)) for r in regions])
