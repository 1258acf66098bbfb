"""Cross-region integrity: compare an incident's chain in every region, repair a damaged copy from
a region whose chain verifies, and record every repair as an `event.repaired` event.

Each region's copy is verified on its own (its events against its own projection). The home
region is the only writer, so its copy is the reference whenever it verifies; otherwise the
longest replica copy that verifies is. Another region's copy is then:

- ok:       the same events and projection as the reference;
- behind:   a verified prefix of the reference whose projection does not claim more (replication
            has not caught up yet; global tables replicate asynchronously): left alone;
- diverged: verifies on its own but forks from the reference: reported, never repaired
            automatically (someone must decide which history is true);
- damaged:  anything else (an event modified, missing, reordered, forged, events the home region
            never wrote, or a projection that does not match its events): repaired by writing the
            reference's events where they differ, removing events that do not belong, and rebuilding
            the projection by folding the repaired events. The repair is then appended to the home
            region's chain (so it replicates like any event); with the home region down nothing is
            repaired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .. import names as n
from ..models.events import EventRepaired, EventType, NewEvent
from ..models.incident import FOLD_VERSION, IncidentState, fold
from ..timeutil import utcnow
from .archive import ArchiveError, ArchiveStore, full_items
from .integrity import VerifyResult, projection_differences, verify_chain, verify_incident_items
from .port import ConcurrencyError, EventStore, StoreUnavailable, append_with_retry, from_item

Status = Literal["ok", "behind", "damaged", "diverged", "unavailable", "absent"]
ACTOR = "agent:integrity"


class RegionCopy(BaseModel):
    region: str
    status: Status
    events: int = 0
    version: int | None = None  # what the region's projection records
    first_bad_seq: int | None = None
    problem: str | None = None


class ReplicaReport(BaseModel):
    incident_id: str
    home_region: str
    reference_region: str | None = None
    ok: bool
    regions: list[RegionCopy]
    repairs: list[dict[str, Any]] = Field(default_factory=list)
    note: str | None = None


class _Copy:
    def __init__(self, region: str, state: IncidentState | None, items: list[dict[str, Any]]):
        self.region, self.state, self.items = region, state, items
        self.chain = verify_chain(state.incident_id if state else (items[0]["incident_id"] if items else ""), items)
        self.full: VerifyResult = verify_incident_items(state.incident_id, items, state) if state else self.chain


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != n.TTL_ATTRIBUTE}


def _is_prefix(short: list[dict[str, Any]], long: list[dict[str, Any]]) -> bool:
    return len(short) <= len(long) and all(_fields(a) == _fields(b) for a, b in zip(short, long, strict=False))


def check(incident_id: str, stores: Mapping[str, EventStore], home_region: str,
          archive: ArchiveStore | None = None) -> tuple[ReplicaReport, dict]:
    """Read and classify every region's copy (no writes). Returns the report and the copies read.
    An archived incident's events 1..N come from the (one) archive for every region."""
    copies: dict[str, _Copy] = {}
    regions: dict[str, RegionCopy] = {}
    for region, store in stores.items():
        try:
            state, items = store.snapshot(incident_id)
        except StoreUnavailable as exc:
            regions[region] = RegionCopy(region=region, status="unavailable", problem=str(exc))
            continue
        if state is None and not items:
            regions[region] = RegionCopy(region=region, status="absent", problem="no copy of this incident")
            continue
        if state is not None and state.archive is not None:
            try:
                items, _ = full_items(store, incident_id, state, archive, items)
            except ArchiveError as exc:
                regions[region] = RegionCopy(region=region, status="damaged", problem=str(exc))
                continue
        copies[region] = _Copy(region, state, items)
    home = copies.get(home_region)
    if home is not None and home.full.ok:
        reference: _Copy | None = home  # the single writer: its verified copy is the truth
    else:
        verified = sorted((c for c in copies.values() if c.full.ok), key=lambda c: -len(c.items))
        reference = verified[0] if verified else None
    for region, c in copies.items():
        base = {"region": region, "events": len(c.items), "version": c.state.version if c.state else None}
        if reference is None:
            regions[region] = RegionCopy(**base, status="damaged", first_bad_seq=c.full.first_bad_seq,
                                         problem=f"{c.full.problem} (and no region's copy verifies)")
        elif c is reference or (c.full.ok and len(c.items) == len(reference.items)
                                and _is_prefix(c.items, reference.items)):
            regions[region] = RegionCopy(**base, status="ok")
        elif c.chain.ok and len(c.items) < len(reference.items) and _is_prefix(c.items, reference.items) and (
                c.state is None or c.state.version <= len(c.items)):
            regions[region] = RegionCopy(**base, status="behind",
                                         problem=f"{len(reference.items) - len(c.items)} event(s) not replicated yet")
        elif c.full.ok and not _is_prefix(reference.items, c.items):
            regions[region] = RegionCopy(**base, status="diverged", problem=(
                f"verifies on its own but disagrees with {reference.region}'s copy from event "
                f"{_first_difference(c.items, reference.items)}; not repaired automatically"))
        else:
            first = _first_difference(c.items, reference.items)
            problem = c.full.problem if not c.full.ok else \
                f"events {len(reference.items) + 1}..{len(c.items)} were never written in {reference.region}"
            regions[region] = RegionCopy(**base, status="damaged", first_bad_seq=first, problem=problem)
    ordered = [regions[r] for r in stores if r in regions]
    # a region that does not answer is no evidence of damage: ok speaks for the copies that were read
    ok = reference is not None and all(r.status in ("ok", "behind", "unavailable") for r in ordered)
    report = ReplicaReport(incident_id=incident_id, home_region=home_region, ok=ok, regions=ordered,
                           reference_region=reference.region if reference else None,
                           note="no region's copy verifies" if reference is None else None)
    return report, copies


def _first_difference(items: list[dict[str, Any]], reference: list[dict[str, Any]]) -> int:
    for i, (a, b) in enumerate(zip(items, reference, strict=False), start=1):
        if _fields(a) != _fields(b):
            return i
    return min(len(items), len(reference)) + 1


def repair(incident_id: str, stores: Mapping[str, EventStore], home_region: str,
           now: datetime | None = None, archive: ArchiveStore | None = None) -> ReplicaReport:
    """Check every region and repair the damaged copies from the reference (see module doc)."""
    report, copies = check(incident_id, stores, home_region, archive)
    damaged = [r for r in report.regions if r.status == "damaged"]
    if not damaged or report.reference_region is None:
        return report
    home = next((r for r in report.regions if r.region == home_region), None)
    if home is None or home.status == "unavailable":
        report.note = f"home region {home_region} unavailable: repairs are recorded there, so none were made"
        return report
    reference = copies[report.reference_region]
    records: list[EventRepaired] = []
    for region_copy in sorted(damaged, key=lambda r: r.region != home_region):  # the home region first
        records.append(_repair_one(incident_id, stores[region_copy.region], copies[region_copy.region],
                                   reference, region_copy.problem or "damaged", region_copy.region == home_region))
    at = now or utcnow()
    for rec in records:
        key = "repair/" + hashlib.sha256(rec.model_dump_json().encode()).hexdigest()[:32]
        append_with_retry(stores[home_region], incident_id, lambda _s, rec=rec, key=key: [
            NewEvent.of(EventType.EVENT_REPAIRED, rec, at, ACTOR, key)])
        report.repairs.append(rec.model_dump())
    after, _ = check(incident_id, stores, home_region, archive)
    after.repairs, after.note = report.repairs, report.note
    return after


def _repair_one(incident_id: str, store: EventStore, damaged: _Copy, reference: _Copy, problem: str,
                home: bool) -> EventRepaired:
    have = {int(i["seq"]): i for i in damaged.items}
    good = reference.items
    archived = damaged.state.archive["events"] if damaged.state and damaged.state.archive else 0
    rewrite = [i for i in good if int(i["seq"]) > archived  # archived events stay in S3, expired on purpose
               and (int(i["seq"]) not in have or _fields(have[int(i["seq"])]) != _fields(i))]
    # events past the reference: in the home region they are its own newest appends when the
    # reference is a replica behind it, kept if they chain onto the repaired copy; a replica never
    # holds events the home region did not write, so there they go
    extras = [have[s] for s in sorted(have) if s > len(good)]
    kept: list[dict[str, Any]] = []
    for item in extras if home else ():
        if verify_chain(incident_id, [*good, *kept, item]).ok:
            kept.append(item)
        else:
            break
    removed = [int(i["seq"]) for i in extras[len(kept):]]
    if rewrite:
        store.write_items(incident_id, rewrite)
    if removed:
        store.delete_items(incident_id, removed)
    repaired = [*good, *kept]
    restored = False
    state = damaged.state
    rebuilt = fold(incident_id, [from_item(i) for i in repaired])
    if state is None or state.version != len(repaired) or state.last_hash != repaired[-1]["hash"] or (
            state.fold_version == FOLD_VERSION and projection_differences(state, rebuilt)):
        try:
            store.put_state(rebuilt, state.version if state else None)
            restored = True
        except ConcurrencyError:
            pass  # a writer appended meanwhile: its projection is newer than anything we could rebuild
    return EventRepaired(region=damaged.region, source_region=reference.region,
                         seqs=[int(i["seq"]) for i in rewrite], removed=removed, projection_restored=restored,
                         problem=problem)


def regions_of(store: EventStore) -> tuple[dict[str, EventStore], str] | None:
    """(each region's store, the home region) when `store` spans regions, else None."""
    from .failover import FailoverEventStore

    if isinstance(store, FailoverEventStore):
        return store.regions(), store.home.region
    return None
