"""The detection engine: one batch of alerts in, incident events out, workflows started when settled.

Processing is deterministic for a given input and starting state, and every write is idempotent
(event idempotency keys derive from the batch id, incident ids from the alert that opened them,
executions are named by incident id). Each scope's state carries, per stream shard and partition
key, the last record sequence it applied, saved atomically with the state: a redelivered record
changes nothing, even when Lambda processes one shard with several concurrent batches.

Memory is bounded per incident, not per alert: an incident keeps marks per service (capped), the
first `max_alerts_recorded` alerts are listed in its timeline and, past that, only alerts that
bring a new service or alert name (a stratified sample); every other alert is counted exactly.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from ..config import Settings
from ..models import Alert, AlertStatus, Severity
from ..models.events import (
    AlertChange,
    AlertRef,
    AlertsAttached,
    AlertsDetached,
    AlertsUpdated,
    EventType,
    GroupingReason,
    IncidentOpened,
    NewEvent,
)
from ..models.incident import IncidentState
from ..store.port import EventStore, append_with_retry
from ..symptoms import classify
from ..topology import Topology
from .correlate import Candidate, assign, graph, join, recompute_roots
from .incoming import Incoming
from .index_cache import IndexCache
from .ports import DetectionStore, Workflow
from .state import AlertRecord, OpenIncident, ScopeState

ACTOR = "agent:detection"
MAX_WATERMARKS = 64  # (shard, partition key) watermarks kept per scope; the oldest are forgotten
INDEX_REFRESH = timedelta(hours=1)  # a repeat rewrites its alert's index entry at most this often
FIRING = AlertStatus.FIRING.value


@dataclass
class BatchResult:
    alerts_in: int = 0
    incidents_opened: list[str] = field(default_factory=list)
    attached: int = 0
    updated: int = 0
    duplicates: int = 0
    noise: int = 0
    redelivered: int = 0
    moved: int = 0
    dispatched: list[str] = field(default_factory=list)
    poison: list[str] = field(default_factory=list)

    def merge(self, r: BatchResult) -> None:
        for name in ("alerts_in", "attached", "updated", "duplicates", "noise", "redelivered", "moved"):
            setattr(self, name, getattr(self, name) + getattr(r, name))
        self.incidents_opened += r.incidents_opened
        self.dispatched += r.dispatched
        self.poison += r.poison


@dataclass
class _Pending:
    opened: IncidentOpened | None = None
    attached: list[AlertRef] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    deliveries: int = 0  # alert messages to record on the incident with this batch
    counted: int = 0  # alert messages of this batch (added to the incident's running total)
    omitted: int = 0
    at: datetime | None = None
    opened_at: datetime | None = None  # when detection opened it: the alert (or tick) that met the threshold


def _title(name: str, service: str | None, label: str | None, scope: str) -> str:
    """An incident's title: the alert that names it, on its service."""
    return f"{name} on {service or label or scope}"


def _title_after(state: IncidentState, leaving: set[str]) -> str | None:
    """The incident's title once `leaving` moved away, when it named one of them: the earliest alert
    that stays names it then (None: the title still names an alert it holds)."""
    stay = sorted((v for k, v in state.alerts.items() if k not in leaving), key=attrgetter("first_received_at"))
    titles = [_title(v.name, v.service, v.service_label, state.scope) for v in stay]
    if not titles or state.title in titles:
        return None
    return next((t for v, t in zip(stay, titles, strict=True) if (v.reason or {}).get("rule") != "held"), titles[0])


def _listing(refs: list[AlertRef], deliveries: int, omitted: int, at: datetime, key: str) -> list[NewEvent]:
    """`alerts.attached` events listing `refs`, 200 an event, the counts on the first (keys `key/0`,
    `key/1`...); none when there is nothing to list or count."""
    chunks = [refs[i:i + 200] for i in range(0, len(refs), 200)] or [[]]
    return [NewEvent.of(EventType.ALERTS_ATTACHED, AlertsAttached(alerts=chunk, deliveries=deliveries if i == 0 else 0,
                                                                  omitted=omitted if i == 0 else 0), at, ACTOR, f"{key}/{i}")
            for i, chunk in enumerate(chunks) if chunk or (i == 0 and (deliveries or omitted))]


def correlation_scope(alert: Alert, topo: Topology) -> str:
    """Alerts on services of one topology component correlate across sources and clusters; others
    correlate within their source's own scope (cluster, account and region)."""
    service, _ = topo.resolve_hints(alert.service_hints)
    component = topo.component(service) if service else None
    return f"topology:{component}" if component else alert.scope


def incident_id_for(alert: Alert) -> str:
    digest = hashlib.sha256(f"{alert.scope}|{alert.source}|{alert.key}|{alert.received_at.isoformat()}".encode())
    return f"inc-{alert.received_at:%Y%m%d-%H%M%S}-{digest.hexdigest()[:8]}"


class DetectionEngine:
    def __init__(self, settings: Settings, store: DetectionStore, events: EventStore, workflow: Workflow,
                 topology: Callable[[], Topology], workflow_input: Callable[[str, int], dict[str, Any]] | None = None,
                 index: IndexCache | None = None):
        self.cfg = settings.detection
        self.settings = settings
        self.store = store
        self.events = events
        self.workflow = workflow
        self.topology = topology
        self.workflow_input = workflow_input or (lambda incident_id, attempt: {"incident_id": incident_id,
                                                                              "attempt": attempt})
        self._floor = Severity(self.cfg.severity_floor).rank
        self.index = index if index is not None else IndexCache()  # alert index entries this (warm) container knows to be current
        # index entries of the scope being processed: the batch's, and those this container wrote (as stored)
        self._in_hand: dict[tuple[str, str], AlertRecord] = {}
        self._cached: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------------------------------
    def process(self, alerts: Iterable[Alert | Incoming], batch_id: str) -> BatchResult:
        """Apply a batch: canonical Alerts (tests, replays) or decoded stream items (`Incoming`)."""
        return self.process_groups([[a] for a in alerts], batch_id)

    def process_groups(self, groups: Iterable[list[Alert | Incoming]], batch_id: str) -> BatchResult:
        """Apply a batch given as groups whose items share one scope (a stream record's alerts), so a
        group is placed by its first item's scope; items without one are placed one by one."""
        result = BatchResult()
        by_scope: dict[str, list[Incoming]] = defaultdict(list)
        topo = self.topology()
        for group in groups:
            result.alerts_in += len(group)
            first = group[0] if group else None
            if isinstance(first, Incoming) and first.scope:
                by_scope[first.scope] += group  # type: ignore[arg-type]
                continue
            for a in group:
                item = a if isinstance(a, Incoming) else Incoming.of(a)
                by_scope[item.scope or correlation_scope(item.alert, topo)].append(item)
        for scope, items in by_scope.items():
            self._process_scope(scope, items, batch_id, topo, result)
        return result

    def tick(self, now: datetime) -> list[str]:
        """Open candidates that have lasted long enough and start the workflow of every incident whose
        settle time has passed (clock: `now`, the alerts' own time)."""
        started: list[str] = []
        due_scopes = sorted({scope for _, scope, due in self.store.list_pending() if due <= now})
        topo = self.topology()
        for scope in due_scopes:
            state = self.store.load_scope(scope)
            version = state.version
            self._in_hand, self._cached = {}, {}
            state.clock = max(filter(None, [state.clock, now]))
            res = BatchResult()
            pending: dict[str, _Pending] = defaultdict(_Pending)
            for inc in state.incidents:
                if not inc.opened:
                    self._maybe_open(inc, state.clock, scope, pending[inc.id])
            self._write_events(pending, f"tick/{scope}/{state.clock.isoformat()}", res,
                               {i.id: i for i in state.incidents})
            self._dispatch_due(state, res)
            self._expire(state, topo, res)
            self.store.save_scope(state, version)
            self.index.moved(scope, version, state.version)
            started += res.dispatched
        return started

    # ------------------------------------------------------------------------------------------
    def _process_scope(self, scope: str, items: list[Incoming], batch_id: str, topo: Topology,
                       result: BatchResult) -> None:
        state = self.store.load_scope(scope)
        version = state.version
        index = self.index.take(scope, version, topo)
        fresh = self._unapplied(state, items)
        result.redelivered += len(items) - len(fresh)
        fresh.sort(key=attrgetter("received_at", "event_time"))
        wanted = {(i.source, i.key) for i in fresh}
        records = {k: AlertRecord.from_json(index[k]) for k in wanted if k in index}
        read = self.store.get_alerts([k for k in wanted if k not in index])  # only what this container did not write
        IndexCache.record(index, read.values())
        records.update(read)
        self._in_hand, self._cached = records, index
        pending: dict[str, _Pending] = defaultdict(_Pending)
        by_id = {i.id: i for i in state.incidents}
        touched: dict[tuple[str, str], AlertRecord] = {}
        anchored: list[tuple[OpenIncident, str]] = []
        flap_window = timedelta(seconds=self.cfg.flap_window_seconds)
        window = timedelta(seconds=self.cfg.window_seconds)

        for item in fresh:
            if state.clock is None or item.received_at > state.clock:
                state.clock = item.received_at
            rec = records.get((item.source, item.key))
            if rec is not None and self._unsaved(state, rec):
                rec = None  # written by an attempt that died before saving the scope: never applied
            if rec is not None:
                inc = by_id.get(rec.incident_id) if rec.incident_id else None
                repeat = item.status == rec.status
                # a new occurrence: firing again (after resolving, or with a new start time) once its
                # incident stopped taking alerts, and not merely flapping
                accepting = inc is not None and item.received_at - inc.last_received_at <= window
                flapping = rec.flapping and bool(rec.changes) and item.received_at - rec.changes[-1] <= flap_window
                again = item.starts_at is not None and rec.starts_at is not None and item.starts_at != rec.starts_at
                if item.status != FIRING or accepting or flapping or (repeat and not again):
                    # the common case in a storm is a repeat of a known alert: no model is built, and the
                    # index entry is rewritten only when it changed or is due a refresh (its TTL)
                    if not repeat or item.received_at - rec.last_received_at > INDEX_REFRESH:
                        touched[(item.source, item.key)] = rec
                    self._count(item, rec, pending)
                    if repeat:
                        result.duplicates += 1
                    else:
                        self._known(item, rec, inc, pending, result)
                    continue
            alert = item.alert
            if alert is None or alert.status != AlertStatus.FIRING or alert.is_change_event:
                why = ("invalid alert document" if alert is None
                       else "resolved before it was seen firing" if alert.status != AlertStatus.FIRING
                       else "change event")
                records[(item.source, item.key)] = touched[(item.source, item.key)] = AlertRecord(
                    source=item.source, key=item.key, status=item.status, last_received_at=item.received_at,
                    starts_at=item.starts_at, deliveries=1, noise_reason=why)
                result.noise += 1
                continue
            inc, later = self._correlate(alert, state, by_id, topo, pending, result, anchored)
            # later copies of this alert in the same batch are repeats of this record
            records[(item.source, item.key)] = touched[(item.source, item.key)] = AlertRecord(
                source=item.source, key=item.key, incident_id=inc.id, status=item.status,
                last_received_at=item.received_at, starts_at=item.starts_at, deliveries=1,
                ref=later.model_dump(mode="json") if later else None)

        self._write_events(pending, batch_id, result, by_id)
        if anchored:  # regrouping moves alerts an incident has listed: list what waits first
            for inc in state.incidents:
                if inc.opened and not inc.dispatched and inc.deferred:
                    self._flush_counts(inc, "regroup", state.clock)
        for inc, service in anchored:
            self._pull_to_anchor(state, inc, service, topo, batch_id, touched, result)
        stamp = fresh[-1].origin if fresh else None  # any fresh origin: above its watermark until saved
        for rec in touched.values():
            rec.origin = stamp
        self.store.put_alerts(list(touched.values()))
        IndexCache.record(index, touched.values())
        self._dispatch_due(state, result)
        self._expire(state, topo, result)
        self._advance(state, fresh)
        self.store.save_scope(state, version)
        self.index.keep(scope, state.version, index)

    def _correlate(self, alert: Alert, state: ScopeState, by_id: dict[str, OpenIncident], topo: Topology,
                   pending: dict[str, _Pending], result: BatchResult,
                   anchored: list[tuple[OpenIncident, str]]) -> tuple[OpenIncident, AlertRef | None]:
        """Place a new firing alert: join the best incident or open a candidate; record why. Returns the
        incident and, when the alert is to be listed later (it joined an open incident), its ref."""
        service, label = topo.resolve_hints(alert.service_hints)
        symptom = classify(alert.name, alert.title)
        cand = Candidate(service=service, label=label, namespace=alert.labels.get("namespace"), name=alert.name,
                         symptom=symptom, kind=graph(topo).kind_of(service, symptom, f"{alert.name} {alert.title}"),
                         event_time=alert.event_time, received_at=alert.received_at)
        choice = assign(state.incidents, cand, topo, self.cfg.window_seconds)
        inc = choice.incident
        qualifies = alert.severity.rank >= self._floor
        if inc is None:
            inc = OpenIncident(id=incident_id_for(alert), first_at=alert.received_at, last_at=cand.event_time,
                               last_received_at=alert.received_at)
            state.incidents.append(inc)
            by_id[inc.id] = inc
            if not qualifies:
                result.noise += 1  # held: below the severity floor, it opens nothing on its own
        had_anchor = cand.service in inc.anchors
        mark = inc.services.get(cand.service or "")
        novel = mark is None or alert.name not in mark.names
        join(inc, cand, topo, alert.name)
        if cand.anchored and not had_anchor:
            anchored.append((inc, cand.service))  # type: ignore[arg-type]
        inc.distinct += 1
        inc.firing += 1
        inc.qualifying += int(qualifies)
        reason = choice.reason if qualifies or choice.incident else GroupingReason(
            rule="held", score=choice.reason.score,
            detail=f"below the severity floor ({self.cfg.severity_floor}): recorded only with an incident that "
                   f"explains it")
        ref = AlertRef(key=alert.key, source=alert.source, name=alert.name, service=service, service_label=label,
                       status=alert.status.value, severity=alert.severity.value, starts_at=alert.starts_at,
                       received_at=alert.received_at, title=alert.title[:300], reason=reason)
        p = pending[inc.id]
        p.at = alert.received_at
        p.deliveries += 1
        p.counted += 1
        later = None
        if not inc.opened:
            if len(inc.held) < self.cfg.max_alerts_recorded:
                inc.held.append(ref.model_dump(mode="json"))
            else:
                inc.held_omitted += 1
            self._maybe_open(inc, state.clock, state.scope, p)
        elif self._record(inc, novel):  # listed with the incident's next append (see _cadence)
            inc.deferred.append([alert.source, alert.key])
            later = ref
        else:
            p.omitted += 1
        result.attached += 1
        return inc, later

    def _record(self, inc: OpenIncident, novel: bool) -> bool:
        """Whether to list the alert in the timeline: the first N, then only alerts that bring a new
        service or alert name to the incident (up to `max_alerts_sampled` more)."""
        cap = self.cfg.max_alerts_recorded + (self.cfg.max_alerts_sampled if novel else 0)
        if inc.recorded < cap:
            inc.recorded += 1
            return True
        return False

    @staticmethod
    def _count(item: Incoming, rec: AlertRecord, pending: dict[str, _Pending]) -> None:
        """A delivery, counted on the alert and on its incident (even one no longer open)."""
        rec.deliveries += 1
        rec.last_received_at = item.received_at
        if rec.incident_id:
            p = pending[rec.incident_id]
            p.deliveries += 1
            p.counted += 1
            p.at = item.received_at

    def _known(self, item: Incoming, rec: AlertRecord, inc: OpenIncident | None, pending: dict[str, _Pending],
               result: BatchResult) -> None:
        """A state change (resolved, acknowledged, firing again) of an alert already placed (counted)."""
        window = timedelta(seconds=self.cfg.flap_window_seconds)
        rec.changes = [t for t in rec.changes if item.received_at - t <= window][-(self.cfg.flap_threshold * 2):] \
            + [item.received_at]
        was_flapping = rec.flapping
        rec.flapping = len(rec.changes) >= self.cfg.flap_threshold
        if inc is not None and (rec.status == FIRING) != (item.status == FIRING):
            inc.firing += 1 if item.status == FIRING else -1
        rec.status = item.status
        result.updated += 1
        if rec.incident_id and (inc is None or inc.opened) and (not was_flapping or not rec.flapping):
            # a flapping alert is recorded once when it starts flapping, then damped
            pending[rec.incident_id].changes.append(AlertChange(key=item.key, status=item.status, at=item.received_at,
                                                       flapping=rec.flapping))

    def _maybe_open(self, inc: OpenIncident, clock: datetime | None, scope: str, p: _Pending) -> None:
        """Open a candidate once it holds N qualifying alerts, or once it has been firing M seconds."""
        if inc.opened or inc.qualifying == 0:
            return
        aged = self.cfg.open_min_seconds > 0 and clock is not None and inc.firing > 0 and \
            (clock - inc.first_at).total_seconds() >= self.cfg.open_min_seconds
        if inc.qualifying < self.cfg.open_min_alerts and not aged:
            return
        inc.opened = True
        p.opened_at = max(filter(None, [clock, inc.first_at]))
        refs = [AlertRef.model_validate(h) for h in inc.held]
        first = next((r for r in refs if r.reason.rule != "held"), refs[0])
        p.opened = IncidentOpened(scope=scope, title=_title(first.name, first.service, first.service_label, scope),
                                  severity=max((r.severity for r in refs), key=lambda s: Severity(s).rank),
                                  first_alert_at=inc.first_at)
        p.attached = refs + p.attached
        p.omitted += inc.held_omitted
        p.deliveries += inc.deliveries  # earlier batches' messages: nothing was recorded while a candidate
        inc.recorded = len(refs)
        inc.held, inc.held_omitted = [], 0

    def _due(self, inc: OpenIncident) -> datetime | None:
        """When a tick must look at the incident next: to open a candidate that has lasted, to diagnose
        it once settled, or to write what waits (alerts to list, repeats' counts); None when nothing is waiting."""
        if not inc.opened:
            if self.cfg.open_min_seconds and inc.qualifying and inc.firing:
                return inc.first_at + timedelta(seconds=self.cfg.open_min_seconds)
            return None
        return min(filter(None, [self._settle_due(inc), self._write_due(inc)]), default=None)

    def _settle_due(self, inc: OpenIncident) -> datetime | None:
        """When an opened incident is to be diagnosed (None: it was)."""
        if inc.dispatched:
            return None
        quiet = inc.last_received_at + timedelta(seconds=self.cfg.settle_quiet_seconds)
        return min(quiet, inc.first_at + timedelta(seconds=self.cfg.settle_max_seconds))

    def _write_due(self, inc: OpenIncident) -> datetime | None:
        """When a diagnosed incident's waiting alerts and counts are to be written by a tick. Before
        diagnosis no tick is needed: batches list waiting alerts every `list_seconds` while alerts
        come, and diagnosis (at most `settle_quiet_seconds` after the last) lists everything."""
        if not inc.dispatched or not (inc.deferred or inc.unflushed):
            return None
        return (inc.flushed_at or inc.last_received_at) + self._cadence(inc)

    def _cadence(self, inc: OpenIncident) -> timedelta:
        """How often an opened incident's timeline is written when nothing forces it (a status change,
        diagnosis, regrouping): alerts joining it every `list_seconds` before diagnosis, alerts and
        repeats' counts every `count_flush_seconds` otherwise — not once per batch."""
        listing = inc.deferred and not inc.dispatched
        return timedelta(seconds=self.cfg.list_seconds if listing else self.cfg.count_flush_seconds)

    def _write_events(self, pending: dict[str, _Pending], batch_id: str, result: BatchResult,
                      by_id: dict[str, OpenIncident] | None = None) -> None:
        """Append what the batch did to each incident. Alerts joining an open incident and repeats only
        add to what it waits to write, written on its cadence (`_cadence`) unless something forces it
        (opening, a status change, an omitted alert), and always before diagnosis and when forgotten."""
        for incident_id, p in pending.items():
            inc = (by_id or {}).get(incident_id)
            if inc is not None:
                inc.deliveries += p.counted
                if p.counted and p.at is not None:
                    inc.last_counted_at = max(filter(None, [inc.last_counted_at, p.at]))
                if inc.opened and p.opened is None:
                    inc.unflushed += p.deliveries
                    if not (p.attached or p.changes or p.omitted) and p.at is not None and \
                            inc.flushed_at is not None and p.at - inc.flushed_at < self._cadence(inc):
                        continue
                    p.deliveries, inc.unflushed = inc.unflushed, 0
            if p.opened is None and not (inc is not None and inc.opened) and self.events.get_head(incident_id) is None:
                continue  # a candidate below the open threshold: nothing to record yet
            at = p.at or p.opened.first_alert_at  # type: ignore[union-attr]
            if inc is not None:
                inc.flushed_at = at
                p.attached = self._take_deferred(inc) + p.attached
            evs: list[NewEvent] = []
            if p.opened is not None:
                evs.append(NewEvent.of(EventType.INCIDENT_OPENED, p.opened, p.opened_at or p.opened.first_alert_at, ACTOR,
                                       f"{batch_id}/opened"))
                result.incidents_opened.append(incident_id)
            evs += _listing(p.attached, p.deliveries, p.omitted, at, f"{batch_id}/attached")
            if p.changes:
                evs.append(NewEvent.of(EventType.ALERTS_UPDATED, AlertsUpdated(changes=p.changes), at, ACTOR,
                                       f"{batch_id}/updated"))
            self._append(incident_id, evs)

    def _flush_counts(self, inc: OpenIncident, why: str, at: datetime | None) -> None:
        """Write the repeats counted but not yet recorded, and list the alerts waiting to be (at
        diagnosis, on the incident's cadence, before regrouping, when it is forgotten)."""
        if (inc.unflushed or inc.deferred) and inc.opened:
            at = at or inc.last_received_at
            self._append(inc.id, _listing(self._take_deferred(inc), inc.unflushed, 0, at,
                                          f"{why}/{inc.id}/{inc.deliveries}"))
            inc.unflushed = 0
            inc.flushed_at = at

    def _take_deferred(self, inc: OpenIncident) -> list[AlertRef]:
        """The refs of the alerts `inc` lists later, from their index entries (in hand, or read), in
        the order they joined; the incident no longer waits to list them."""
        if not inc.deferred:
            return []
        keys = [(k[0], k[1]) for k in inc.deferred]
        found = {k: self._in_hand.get(k) or (AlertRecord.from_json(self._cached[k]) if k in self._cached else None)
                 for k in keys}
        missing = [k for k, r in found.items() if r is None]
        if missing:
            found.update(self.store.get_alerts(missing))
        inc.deferred = []
        return [AlertRef.model_validate(r.ref) for k in keys if (r := found.get(k)) is not None and r.ref]

    def _append(self, incident_id: str, evs: list[NewEvent]) -> None:
        for start in range(0, len(evs), 20):
            chunk_evs = evs[start:start + 20]
            append_with_retry(self.events, incident_id, lambda _s, e=chunk_evs: e)

    # --- regrouping before diagnosis -----------------------------------------------------------
    def _pull_to_anchor(self, state: ScopeState, target: OpenIncident, service: str, topo: Topology,
                        batch_id: str, touched: dict[tuple[str, str], AlertRecord], result: BatchResult) -> None:
        """`target` now shows `service` failing by itself: alerts on that service that other incidents
        (not yet diagnosed, not anchored there) hold only as symptoms are better explained by it, and
        move over. An incident is never emptied this way."""
        if target.dispatched:
            return
        g = graph(topo)
        for source in state.incidents:
            mark = source.services.get(service)
            if source is target or source.dispatched or mark is None or service in source.anchors:
                continue
            if len(source.services) == 1 and not source.unresolved:
                continue
            if target.roots is not None and any(not set(target.roots) & g.explain(service, k) for k in mark.kinds):
                continue
            held = self.events.get_state(source.id) if source.opened else None  # its alert views, read once
            refs = self._refs_on(source, held, service)
            if not refs:
                continue
            why = GroupingReason(rule="regrouped", score=1.0,
                                 detail=f"moved from {source.id}: this incident shows {service} failing by itself, "
                                        f"which explains its symptoms")
            moved = [r.model_copy(update={"reason": why}) for r in refs]
            keys = [r.key for r in moved]
            if source.opened:
                self._append(source.id, [NewEvent.of(
                    EventType.ALERTS_DETACHED,
                    AlertsDetached(keys=keys, to_incident=target.id, reason=why.detail,
                                   title=_title_after(held, set(keys)) if held else None),
                    moved[-1].received_at, ACTOR, f"{batch_id}/detached/{target.id}/{service}")])
                source.recorded -= len(moved)
            else:
                source.held = [h for h in source.held if h.get("key") not in set(keys)]
            if target.opened:
                self._append(target.id, [NewEvent.of(
                    EventType.ALERTS_ATTACHED, AlertsAttached(alerts=moved), moved[-1].received_at, ACTOR,
                    f"{batch_id}/regrouped/{source.id}/{service}")])
                target.recorded += len(moved)
            else:
                target.held += [r.model_dump(mode="json") for r in moved]
            src_mark = source.services.pop(service)
            mine = target.services.get(service)
            if mine is None:
                target.services[service] = src_mark
            else:
                mine.first_at, mine.last_at = min(mine.first_at, src_mark.first_at), max(mine.last_at, src_mark.last_at)
                mine.alerts += src_mark.alerts
                mine.labels += [x for x in src_mark.labels if x not in mine.labels][:max(0, 10 - len(mine.labels))]
                mine.names += [x for x in src_mark.names if x not in mine.names][:max(0, 20 - len(mine.names))]
                mine.kinds += [x for x in src_mark.kinds if x not in mine.kinds]
            n = len(moved)
            source.distinct, target.distinct = source.distinct - n, target.distinct + n
            source.firing, target.firing = max(0, source.firing - n), target.firing + n
            source.qualifying, target.qualifying = max(0, source.qualifying - n), target.qualifying + n
            source.roots = recompute_roots(source, topo)
            target.roots = recompute_roots(target, topo)
            records = self.store.get_alerts([(r.source, r.key) for r in moved if (r.source, r.key) not in touched])
            for r in moved:
                rec = touched.get((r.source, r.key)) or records.get((r.source, r.key))
                if rec is not None:
                    rec.incident_id = target.id
                    touched[(r.source, r.key)] = rec
            result.moved += n

    @staticmethod
    def _refs_on(inc: OpenIncident, state: IncidentState | None, service: str) -> list[AlertRef]:
        """The alerts on `service` a candidate holds, or an opened incident (`state`, with its views)."""
        if not inc.opened:
            return [AlertRef.model_validate(h) for h in inc.held if h.get("service") == service]
        if state is None:
            return []
        return [AlertRef(key=v.key, source=v.source, name=v.name, service=v.service, service_label=v.service_label,
                         status=v.status, severity=v.severity, starts_at=v.starts_at, received_at=v.first_received_at,
                         title=v.title, reason=GroupingReason.model_validate(v.reason or {"rule": "unknown"}))
                for v in state.alerts.values() if v.service == service]

    # --- dispatch, expiry, idempotency -----------------------------------------------------------
    def _dispatch_due(self, state: ScopeState, result: BatchResult) -> None:
        """Diagnose settled incidents, write due counts, and keep the store's pending list (what ticks
        look at) in step with what each incident waits for."""
        clock = state.clock
        for inc in state.incidents:
            settle, write = self._settle_due(inc), self._write_due(inc)
            if clock is not None and inc.opened:
                if settle is not None and clock >= settle:
                    self._dispatch(inc, result, clock)
                elif write is not None and clock >= write:
                    self._flush_counts(inc, "flush", clock)
            due = self._due(inc)
            self._pend(inc, state.scope, due, clock)

    def _pend(self, inc: OpenIncident, scope: str, due: datetime | None, clock: datetime | None = None) -> None:
        """Keep the pending entry no later than what the incident waits for. A due that only moves
        later (each new alert pushes the quiet deadline) is not rewritten while the stored one is
        ahead: the tick it wakes finds the incident not yet due and writes the new time. One write
        per wake-up instead of one per batch."""
        stored = inc.pending_due
        if due == stored:
            return
        if due is None:
            self.store.delete_pending(inc.id)
        elif stored is not None and due > stored and clock is not None and clock < stored:
            return
        else:
            self.store.put_pending(inc.id, scope, due)
        inc.pending_due = due

    def _dispatch(self, inc: OpenIncident, result: BatchResult, at: datetime | None) -> None:
        self._flush_counts(inc, "dispatch", at)
        inc.dispatched += 1
        self.workflow.start(inc.id, self.workflow_input(inc.id, inc.dispatched))
        result.dispatched.append(inc.id)

    def _expire(self, state: ScopeState, topo: Topology, result: BatchResult) -> None:
        """Forget incidents that can no longer take alerts and wait for nothing. Past
        `max_open_incidents` in one scope the oldest are diagnosed at once (never dropped
        undiagnosed), their counts written, and they stop taking alerts."""
        if state.clock is None:
            return
        window = timedelta(seconds=self.cfg.window_seconds)
        keep = [i for i in state.incidents if state.clock - max(filter(None, [i.last_received_at, i.last_counted_at]))
                <= window or self._due(i) is not None]
        keep.sort(key=lambda i: i.last_received_at)
        overflow = max(0, len(keep) - self.cfg.max_open_incidents)
        for i in keep[:overflow]:
            if i.opened and not i.dispatched:
                self._dispatch(i, result, state.clock)
        kept = {id(i) for i in keep[overflow:]}
        for i in state.incidents:
            if id(i) not in kept:
                self._flush_counts(i, "forget", state.clock)
                self._pend(i, state.scope, None)
        state.incidents = keep[overflow:]

    @staticmethod
    def _unsaved(state: ScopeState, rec: AlertRecord) -> bool:
        """Whether an index entry was written by a batch whose scope state was never saved (the function
        crashed, or lost the conditional save, after writing it): its origin is past the watermark."""
        o = rec.origin
        return o is not None and o[1] > state.applied.get(o[0], -1)

    @staticmethod
    def _unapplied(state: ScopeState, items: list[Incoming]) -> list[Incoming]:
        marks = state.applied
        if not marks:
            return list(items)
        out: list[Incoming] = []
        last, fresh = None, True
        for i in items:
            o = i.origin
            if o is not last:  # the alerts of one record share its origin: decide once per record
                last, fresh = o, o is None or o[1] > marks.get(o[0], -1)
            if fresh:
                out.append(i)
        return out

    @staticmethod
    def _advance(state: ScopeState, items: list[Incoming]) -> None:
        last = None
        for i in items:
            o = i.origin
            if o is last or o is None:  # the alerts of one record share its origin
                continue
            last = o
            if o[1] > state.applied.get(o[0], -1):
                state.applied.pop(o[0], None)
                state.applied[o[0]] = o[1]
        while len(state.applied) > MAX_WATERMARKS:
            state.applied.pop(next(iter(state.applied)))
