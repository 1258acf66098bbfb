"""Retention: closed incidents' events go to the archive first, then get a TTL; the chain still
verifies across archive and table afterwards, and a tampered chain or archive is never laundered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from incident_commander.models.events import (
    EventType,
    IncidentOpened,
    MonitoringStarted,
    NewEvent,
    Reopened,
    Resolved,
)
from incident_commander.store.archive import ArchiveError, InMemoryArchive, decode, verify_incident
from incident_commander.store.memory import InMemoryEventStore
from incident_commander.store.retention import archive_closed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def incident(store: InMemoryEventStore, iid: str, resolved_at: datetime | None) -> None:
    evs = [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(scope="s", title=iid, severity="high",
                                                                 first_alert_at=T0), T0, "t", "o"),
           NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason="watch"), T0, "t", "m")]
    if resolved_at is not None:
        evs.append(NewEvent.of(EventType.RESOLVED, Resolved(by="ann", category="network", service="db"),
                               resolved_at, "human:ann"))
    store.append(iid, 0, evs)


@pytest.fixture()
def setup():
    store, archive = InMemoryEventStore(), InMemoryArchive("ic-test-archive")
    incident(store, "old", T0 + DAY)
    incident(store, "recent", T0 + 80 * DAY)
    incident(store, "open", None)
    return store, archive


def test_only_incidents_closed_longer_than_the_age_are_archived_then_expired(setup):
    store, archive = setup
    now = T0 + 100 * DAY
    out = archive_closed(store, archive, now, older_than=90 * DAY)
    assert [(o.incident_id, o.result, o.events, o.expired) for o in out] == [("old", "archived", 3, 3)]
    (key,) = archive.objects
    assert key.startswith("incidents/old/") and [e["seq"] for e in decode(archive.objects[key])] == [1, 2, 3]
    items = store.read_items("old")
    assert [i.get("expires_at") for i in items] == [int(now.timestamp())] * 3 + [None]  # archived event stays
    assert items[-1]["type"] == EventType.ARCHIVED.value
    assert all("expires_at" not in i for i in store.read_items("recent"))
    assert store.marker_ttl == {("old", "o"): int(now.timestamp()), ("old", "m"): int(now.timestamp())}
    assert archive_closed(store, archive, now, older_than=90 * DAY) == []  # visited once


def test_after_the_ttl_deletes_them_the_chain_still_verifies_through_the_archive(setup):
    store, archive = setup
    now = T0 + 100 * DAY
    archive_closed(store, archive, now, older_than=90 * DAY)
    assert store.run_ttl(int(now.timestamp())) == 3
    assert [i["seq"] for i in store.read_items("old")] == [4]
    result = verify_incident(store, "old", archive)
    assert result.ok and result.events == 4 and result.archived_events == 3
    assert not verify_incident(store, "old", None).ok  # without the archive the history is not all there


def test_a_modified_archive_object_is_named(setup):
    store, archive = setup
    archive_closed(store, archive, T0 + 100 * DAY, older_than=90 * DAY)
    (key,) = archive.objects
    doc = json.loads(archive.objects[key])
    doc["events"][1]["actor"] = "mallory"
    archive.objects[key] = json.dumps(doc).encode()
    result = verify_incident(store, "old", archive)
    assert not result.ok and "was modified" in result.problem and key in result.problem
    del archive.objects[key]
    with pytest.raises(ArchiveError, match="does not exist"):
        archive.get(key)
    assert "does not exist" in verify_incident(store, "old", archive).problem


def test_a_chain_that_does_not_verify_is_kept_as_evidence(setup):
    store, archive = setup
    store.items["old"][2]["actor"] = "mallory"
    (out,) = archive_closed(store, archive, T0 + 100 * DAY, older_than=90 * DAY)
    assert out.result == "skipped" and "event 2" in out.reason and archive.objects == {}
    assert all("expires_at" not in i for i in store.read_items("old"))


def test_an_incident_reopened_after_archiving_is_archived_again_whole(setup):
    store, archive = setup
    archive_closed(store, archive, T0 + 100 * DAY, older_than=90 * DAY)
    store.run_ttl(int((T0 + 100 * DAY).timestamp()))
    s = store.get_state("old")
    store.append("old", s.version, [
        NewEvent.of(EventType.REOPENED, Reopened(by="bo", reason="again"), T0 + 101 * DAY, "human:bo"),
        NewEvent.of(EventType.RESOLVED, Resolved(by="bo", category="network", service="db"), T0 + 102 * DAY, "h")])
    assert verify_incident(store, "old", archive).ok
    out = archive_closed(store, archive, T0 + 200 * DAY, older_than=90 * DAY)
    assert [(o.incident_id, o.events) for o in out] == [("recent", 3), ("old", 6)]  # oldest resolution first
    assert len([k for k in archive.objects if k.startswith("incidents/old/")]) == 2
    store.run_ttl(int((T0 + 200 * DAY).timestamp()))
    result = verify_incident(store, "old", archive)
    assert result.ok and result.events == 7 and result.archived_events == 6


def test_an_incident_that_changes_while_being_archived_is_left_for_the_next_round(setup, monkeypatch):
    store, archive = setup
    put = archive.put

    def put_then_someone_appends(key: str, body: bytes, digest: str) -> None:
        put(key, body, digest)
        s = store.get_state("old")
        store.append("old", s.version, [NewEvent.of(EventType.REOPENED, Reopened(by="x", reason="y"), T0, "h")])

    monkeypatch.setattr(archive, "put", put_then_someone_appends)
    (out,) = archive_closed(store, archive, T0 + 100 * DAY, older_than=90 * DAY)
    assert out.result == "skipped" and "changed" in out.reason
    assert all("expires_at" not in i for i in store.read_items("old"))
