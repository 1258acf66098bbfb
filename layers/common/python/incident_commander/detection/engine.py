"""The detection engine: one batch of alerts in, incident events out, workflows started when settled.

Processing is deterministic for a given input and starting state, and every write is idempotent
(event idempotency keys derive from the batch id, incident ids from the alert that opened them,
executions are named by incident id), so a redelivered batch changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config import Settings
from ..models import Alert, AlertStatus, Severity
from ..models.events import (
    AlertChange,
    AlertRef,
    AlertsAttached,
    AlertsUpdated,
    EventType,
    IncidentOpened,
    NewEvent,
)
from ..store.port import EventStore, append_with_retry
from ..symptoms import STARVATION, classify
from ..topology import Topology
from .correlate import Candidate, assign, join
from .ports import DetectionStore, Workflow
from .state import AlertRecord, OpenIncident, ScopeState

ACTOR = "agent:detection"


@dataclass
class BatchResult:
    alerts_in: int = 0
    incidents_opened: list[str] = field(default_factory=list)
    attached: int = 0
    updated: int = 0
    duplicates: int = 0
    noise: int = 0
    dispatched: list[str] = field(default_factory=list)
    poison: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    opened: IncidentOpened | None = None
    attached: list[AlertRef] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    deliveries: int = 0
    omitted: int = 0
    at: datetime | None = None


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
                 topology: Callable[[], Topology], workflow_input: Callable[[str, int], dict[str, Any]] | None = None):
        self.cfg = settings.detection
        self.settings = settings
        self.store = store
        self.events = events
        self.workflow = workflow
        self.topology = topology
        self.workflow_input = workflow_input or (lambda incident_id, attempt: {"incident_id": incident_id,
                                                                              "attempt": attempt})
        self._floor = Severity(self.cfg.severity_floor).rank

    # ------------------------------------------------------------------------------------------
    def process(self, alerts: Iterable[Alert], batch_id: str) -> BatchResult:
        result = BatchResult()
        by_scope: dict[str, list[Alert]] = defaultdict(list)
        topo = self.topology()
        for a in alerts:
            by_scope[correlation_scope(a, topo)].append(a)
            result.alerts_in += 1
        for scope, scope_alerts in by_scope.items():
            self._process_scope(scope, scope_alerts, batch_id, topo, result)
        return result

    def tick(self, now: datetime) -> list[str]:
        """Start the workflow of every incident whose settle time has passed (clock: `now`)."""
        started: list[str] = []
        due_scopes = sorted({scope for _, scope, due in self.store.list_pending() if due <= now})
        for scope in due_scopes:
            state = self.store.load_scope(scope)
            version = state.version
            state.clock = max(filter(None, [state.clock, now]))
            res = BatchResult()
            self._dispatch_due(state, res)
            self._expire(state, self.topology())
            self.store.save_scope(state, version)
            started += res.dispatched
        return started

    # ------------------------------------------------------------------------------------------
    def _process_scope(self, scope: str, alerts: list[Alert], batch_id: str, topo: Topology,
                       result: BatchResult) -> None:
        state = self.store.load_scope(scope)
        version = state.version
        alerts = sorted(alerts, key=lambda a: (a.received_at, a.event_time))
        records = self.store.get_alerts(list({(a.source, a.key) for a in alerts}))
        pending: dict[str, _Pending] = defaultdict(_Pending)
        by_id = {i.id: i for i in state.incidents}
        touched: dict[tuple[str, str], AlertRecord] = {}

        for a in alerts:
            state.clock = max(filter(None, [state.clock, a.received_at]))
            rec = records.get((a.source, a.key))
            inc = by_id.get(rec.incident_id) if rec and rec.incident_id else None
            if rec is not None and (inc is not None or rec.flapping or a.status != AlertStatus.FIRING):
                self._known(a, rec, inc, pending, result)
                touched[(a.source, a.key)] = rec
                continue
            # a new alert (or one whose incident closed long ago firing again)
            if a.status != AlertStatus.FIRING or a.severity.rank < self._floor or a.is_change_event:
                why = ("resolved before it was seen firing" if a.status != AlertStatus.FIRING
                       else "change event" if a.is_change_event else f"below severity floor {self.cfg.severity_floor}")
                touched[(a.source, a.key)] = AlertRecord(source=a.source, key=a.key, status=a.status.value,
                                                         last_received_at=a.received_at, deliveries=1,
                                                         noise_reason=why)
                result.noise += 1
                continue
            service, label = topo.resolve_hints(a.service_hints)
            cand = Candidate(service=service, label=label, namespace=a.labels.get("namespace"),
                             starved=classify(a.name, a.title) in STARVATION,
                             event_time=a.event_time, received_at=a.received_at)
            choice = assign([i for i in state.incidents], cand, topo, self.cfg.window_seconds)
            inc = choice.incident
            if inc is None:
                inc = OpenIncident(id=incident_id_for(a), first_at=a.received_at, last_at=cand.event_time,
                                   last_received_at=a.received_at)
                state.incidents.append(inc)
                by_id[inc.id] = inc
            join(inc, cand, topo, a.name)
            inc.distinct += 1
            inc.deliveries += 1
            ref = AlertRef(key=a.key, source=a.source, name=a.name, service=service, service_label=label,
                           status=a.status.value, severity=a.severity.value, starts_at=a.starts_at,
                           received_at=a.received_at, title=a.title[:300], reason=choice.reason)
            p = pending[inc.id]
            p.at = a.received_at
            p.deliveries += 1
            if not inc.opened:
                if len(inc.held) < self.cfg.max_alerts_recorded:
                    inc.held.append(ref.model_dump(mode="json"))
                self._maybe_open(inc, state.clock, scope, a, p)
            elif inc.recorded < self.cfg.max_alerts_recorded:
                p.attached.append(ref)
                inc.recorded += 1
            else:
                p.omitted += 1
            self._schedule(inc)
            touched[(a.source, a.key)] = AlertRecord(source=a.source, key=a.key, incident_id=inc.id,
                                                     status=a.status.value, last_received_at=a.received_at,
                                                     deliveries=1)
            result.attached += 1

        self._write_events(pending, batch_id, result)
        self.store.put_alerts(list(touched.values()))
        self._dispatch_due(state, result)
        self._expire(state, topo)
        self.store.save_scope(state, version)

    def _known(self, a: Alert, rec: AlertRecord, inc: OpenIncident | None, pending: dict[str, _Pending],
               result: BatchResult) -> None:
        rec.deliveries += 1
        rec.last_received_at = a.received_at
        if inc is not None:
            inc.deliveries += 1
            pending[inc.id].deliveries += 1
            pending[inc.id].at = a.received_at
        if a.status.value == rec.status:
            result.duplicates += 1
            return
        window = timedelta(seconds=self.cfg.flap_window_seconds)
        rec.changes = [t for t in rec.changes if a.received_at - t <= window] + [a.received_at]
        was_flapping = rec.flapping
        rec.flapping = len(rec.changes) >= self.cfg.flap_threshold
        rec.status = a.status.value
        result.updated += 1
        if inc is not None and inc.opened and (not was_flapping or not rec.flapping):
            # a flapping alert is recorded once when it starts flapping, then damped
            pending[inc.id].changes.append(AlertChange(key=a.key, status=a.status.value, at=a.received_at,
                                                       flapping=rec.flapping))

    def _maybe_open(self, inc: OpenIncident, clock: datetime | None, scope: str, a: Alert, p: _Pending) -> None:
        aged = self.cfg.open_min_seconds > 0 and clock is not None and \
            (clock - inc.first_at).total_seconds() >= self.cfg.open_min_seconds
        if inc.distinct < self.cfg.open_min_alerts and not aged:
            return
        inc.opened = True
        first = AlertRef.model_validate(inc.held[0])
        p.opened = IncidentOpened(scope=scope, title=f"{first.name} on {first.service or first.service_label or scope}",
                                  severity=a.severity.value, first_alert_at=inc.first_at)
        p.attached.extend(AlertRef.model_validate(h) for h in inc.held)
        inc.recorded = len(inc.held)
        inc.held = []

    def _schedule(self, inc: OpenIncident) -> None:
        if inc.dispatched:
            return
        quiet = inc.last_received_at + timedelta(seconds=self.cfg.settle_quiet_seconds)
        latest = inc.first_at + timedelta(seconds=self.cfg.settle_max_seconds)
        inc.dispatch_due = min(quiet, latest)

    def _write_events(self, pending: dict[str, _Pending], batch_id: str, result: BatchResult) -> None:
        for incident_id, p in pending.items():
            if p.opened is None and self.events.get_state(incident_id) is None:
                continue  # a candidate below the open threshold: nothing to record yet
            at = p.at or p.opened.first_alert_at  # type: ignore[union-attr]
            evs: list[NewEvent] = []
            if p.opened is not None:
                evs.append(NewEvent.of(EventType.INCIDENT_OPENED, p.opened, p.opened.first_alert_at, ACTOR,
                                       f"{batch_id}/opened"))
                result.incidents_opened.append(incident_id)
            chunks = [p.attached[i:i + 200] for i in range(0, len(p.attached), 200)] or [[]]
            for i, chunk in enumerate(chunks):
                if chunk or (i == 0 and (p.deliveries or p.omitted)):
                    evs.append(NewEvent.of(
                        EventType.ALERTS_ATTACHED,
                        AlertsAttached(alerts=chunk, deliveries=p.deliveries if i == 0 else 0,
                                       omitted=p.omitted if i == 0 else 0),
                        at, ACTOR, f"{batch_id}/attached/{i}"))
            if p.changes:
                evs.append(NewEvent.of(EventType.ALERTS_UPDATED, AlertsUpdated(changes=p.changes), at, ACTOR,
                                       f"{batch_id}/updated"))
            for start in range(0, len(evs), 20):
                chunk_evs = evs[start:start + 20]
                append_with_retry(self.events, incident_id, lambda _s, e=chunk_evs: e)

    def _dispatch_due(self, state: ScopeState, result: BatchResult) -> None:
        clock = state.clock
        for inc in state.incidents:
            if not inc.opened or inc.dispatched or inc.dispatch_due is None:
                continue
            if clock is not None and clock >= inc.dispatch_due:
                inc.dispatched += 1
                self.workflow.start(inc.id, self.workflow_input(inc.id, inc.dispatched))
                self.store.delete_pending(inc.id)
                result.dispatched.append(inc.id)
            else:
                self.store.put_pending(inc.id, state.scope, inc.dispatch_due)

    def _expire(self, state: ScopeState, topo: Topology) -> None:
        """Forget incidents that can no longer take alerts; cap how many a scope tracks."""
        if state.clock is None:
            return
        window = timedelta(seconds=self.cfg.window_seconds)
        keep = [i for i in state.incidents
                if state.clock - i.last_received_at <= window or (i.opened and not i.dispatched)]
        keep.sort(key=lambda i: i.last_received_at)
        state.incidents = keep[-self.cfg.max_open_incidents:]

