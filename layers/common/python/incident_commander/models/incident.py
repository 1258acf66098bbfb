"""The incident projection: the fold of its events, kept beside them for fast reads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_serializer, model_validator

from .alert import Severity
from .diagnosis import Decision, Hypothesis
from .events import EventType, StoredEvent


class IncidentStatus(StrEnum):
    OPEN = "open"
    DIAGNOSING = "diagnosing"
    ESCALATED = "escalated"
    MONITORING = "monitoring"
    MITIGATING = "mitigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class AlertsNotRead(dict):
    """Stands for the alert views of a projection read without them (`EventStore.get_head`): any use
    fails loudly instead of looking like an incident without alerts. The views are folded from
    the events on read (`EventStore.get_state`); the stored projection keeps only their summary."""

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("the incident's alert views were not read: use EventStore.get_state, not get_head")

    __getitem__ = __iter__ = __len__ = __contains__ = get = keys = values = items = copy = _refuse  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return self._refuse()

    def __repr__(self) -> str:
        return "AlertsNotRead()"


ALERTS_NOT_READ = AlertsNotRead()


class AlertView(BaseModel):
    key: str
    source: str
    name: str
    service: str | None = None
    service_label: str | None = None
    status: str
    severity: str
    title: str = ""
    starts_at: datetime | None = None
    first_received_at: datetime
    last_received_at: datetime
    deliveries: int = 1
    flapping: bool = False
    reason: dict[str, Any] = Field(default_factory=dict)


# Bumped whenever `apply` changes what it derives from the same events: verification compares a
# stored projection with the fold of its events only when both come from the same fold version.
# 2: the alert views' summary (alerts_listed, alerts_started_at); the views are no longer stored.
FOLD_VERSION = 2


class IncidentState(BaseModel):
    incident_id: str
    version: int = 0
    last_hash: str = ""
    fold_version: int = 0  # the FOLD_VERSION of the code that wrote this projection (0: before it was recorded)
    status: IncidentStatus = IncidentStatus.OPEN
    scope: str = ""
    title: str = ""
    severity: str = Severity.MEDIUM.value
    opened_at: datetime | None = None
    first_alert_at: datetime | None = None
    last_alert_at: datetime | None = None
    updated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    services: list[str] = Field(default_factory=list)
    # the listed alerts (capped, see DetectionConfig): folded from the events on read, not stored in
    # the projection item (see `stored_json`); ALERTS_NOT_READ in a projection read without them
    alerts: dict[str, AlertView] = Field(default_factory=dict)
    alerts_listed: int = 0  # len(alerts), stored
    alerts_started_at: datetime | None = None  # earliest `starts_at` of the listed alerts, stored
    alert_deliveries: int = 0  # exact count of alert messages, repeats included
    alerts_omitted: int = 0  # distinct alerts past the cap
    hypotheses: dict[str, list[Hypothesis]] = Field(default_factory=dict)  # by agent
    faults: list[dict[str, Any]] = Field(default_factory=list)
    decision: Decision | None = None
    decision_kind: str | None = None
    escalation_level: int | None = None
    escalation_open: bool = False
    human: dict[str, Any] | None = None
    confirmed_root_cause: dict[str, Any] | None = None
    executions: int = 0
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    reopened: int = 0
    repairs: int = 0
    archive: dict[str, Any] | None = None  # where events 1..archive["events"] live once archived (Archived)
    # hypotheses and decision are their outline (`outline()`): as stored, and as read by `get_head`
    outlined: bool = False

    @model_validator(mode="after")
    def _summary_of_given_alerts(self) -> IncidentState:
        """Built with its alerts (by hand, or stored before the summary existed): derive the summary."""
        if self.alerts and not self.alerts_listed:
            self.alerts_listed = len(self.alerts)
            self.alerts_started_at = min((v.starts_at for v in self.alerts.values() if v.starts_at), default=None)
        return self

    @field_serializer("alerts", mode="wrap")
    def _alerts_read_first(self, value: Any, handler: Any) -> Any:
        if isinstance(value, AlertsNotRead):
            value._refuse()  # never write out "no alerts" for alerts that were not read
        return handler(value)

    @property
    def distinct_alerts(self) -> int:
        return self.alerts_listed + self.alerts_omitted

    @property
    def alerts_read(self) -> bool:
        return not isinstance(self.alerts, AlertsNotRead)

    @property
    def complete(self) -> bool:
        """With its alert views and whole hypotheses and decision (`EventStore.get_state`)."""
        return self.alerts_read and not self.outlined

    def outline(self) -> IncidentState:
        """The diagnosis as lists and writers need it: each agent's top hypothesis and the decision,
        without evidence, causal paths, ranking and votes. A diagnosed incident's whole diagnosis is
        8-20 KB of JSON, rewritten (twice, in its transaction) by every later append; the events hold
        it, and `get_state` folds it back. A function of the content alone: an append onto an outline
        (a writer that did not fold this version) adds whole hypotheses, which are outlined again."""
        if not (self.hypotheses or self.decision):
            return self.model_copy(update={"outlined": False}) if self.outlined else self
        bare = {"evidence": [], "causal_path": []}
        decision = self.decision.model_copy(update={
            "ranked": [], "votes": [],
            "root_cause": self.decision.root_cause.model_copy(update=bare) if self.decision.root_cause else None,
        }) if self.decision else None
        return self.model_copy(update={"outlined": True, "decision": decision, "hypotheses": {
            agent: [hs[0].model_copy(update=bare)] if hs else [] for agent, hs in self.hypotheses.items()}})

    def stored_json(self) -> str:
        """The projection as stored: without the alert views, which the events hold and which would
        make every append rewrite an item growing with the incident's alerts (a few hundred bytes
        each, written twice in the append's transaction), and with the diagnosis's `outline`. Once
        archived, the events holding them leave the table, so an archived incident's projection
        keeps everything."""
        if self.archive is not None:
            return self.model_dump_json()
        return self.outline().model_dump_json(exclude={"alerts"})

    def as_stored(self) -> IncidentState:
        """What reading back `stored_json()` gives (`from_stored`), without the JSON round trip."""
        if self.archive is not None:
            return self.model_copy()
        state = self.outline()
        if self.alerts_listed:
            return state.model_copy(update={"alerts": ALERTS_NOT_READ})
        return state if state is not self else self.model_copy()

    @classmethod
    def from_stored(cls, text: str | bytes) -> IncidentState:
        """A stored projection: with its views when they were stored, else marked ALERTS_NOT_READ."""
        state = cls.model_validate_json(text)
        if state.alerts_listed and not state.alerts:
            state.alerts = ALERTS_NOT_READ
        return state

    @property
    def is_closed(self) -> bool:
        return self.status == IncidentStatus.RESOLVED

    @property
    def awaits_archive(self) -> bool:
        """Resolved, with events not archived yet (the last archive covers all but its own event)."""
        return self.is_closed and self.resolved_at is not None and (
            self.archive is None or self.archive["events"] + 1 < self.version)


def fold(incident_id: str, events: list[StoredEvent]) -> IncidentState:
    state = IncidentState(incident_id=incident_id)
    for event in events:
        state = apply(state, event)
    return state


def apply(state: IncidentState, event: StoredEvent) -> IncidentState:
    """Return the state after `event` (a new object; the input is not modified).

    Copy-on-write: the state is copied shallowly and only the containers an event changes are
    copied, so folding stays cheap for incidents holding hundreds of alerts.
    """
    s = state.model_copy()
    s.fold_version = FOLD_VERSION
    s.version = event.seq
    s.last_hash = event.hash
    s.updated_at = event.at
    d = event.current_data()
    t = event.type
    if t == EventType.INCIDENT_OPENED:
        s.scope, s.title, s.severity = d["scope"], d["title"], d["severity"]
        s.opened_at = event.at
        s.first_alert_at = _dt(d["first_alert_at"])
    elif t == EventType.ALERTS_ATTACHED:
        s.alert_deliveries += d.get("deliveries", 0)
        s.alerts_omitted += d.get("omitted", 0)
        if d["alerts"]:
            s.alerts, s.services = dict(s.alerts), list(s.services)
        for a in d["alerts"]:
            received = _dt(a["received_at"])
            prior = s.alerts.get(a["key"])
            if prior is not None:
                s.alerts[a["key"]] = prior.model_copy(update={"last_received_at": received, "status": a["status"],
                                                              "deliveries": prior.deliveries + 1})
                continue
            s.alerts[a["key"]] = AlertView(
                key=a["key"], source=a["source"], name=a["name"], service=a.get("service"),
                service_label=a.get("service_label"), status=a["status"], severity=a["severity"],
                title=a.get("title", ""), starts_at=_dt(a.get("starts_at")), first_received_at=received,
                last_received_at=received, reason=a.get("reason") or {})
            if a.get("service") and a["service"] not in s.services:
                s.services.append(a["service"])
            if Severity(a["severity"]).rank > Severity(s.severity).rank:
                s.severity = a["severity"]
            s.last_alert_at = max(filter(None, [s.last_alert_at, received]))
            s.alerts_started_at = min(filter(None, [s.alerts_started_at, s.alerts[a["key"]].starts_at]), default=None)
        if d["alerts"]:
            s.alerts_listed = len(s.alerts)
    elif t == EventType.ALERTS_UPDATED:
        s.alert_deliveries += d.get("deliveries", 0)
        if d["changes"]:
            s.alerts = dict(s.alerts)
        for c in d["changes"]:
            view = s.alerts.get(c["key"])
            if view is not None:
                s.alerts[c["key"]] = view.model_copy(update={"status": c["status"], "flapping": c.get("flapping", False),
                                                             "last_received_at": _dt(c["at"])})
    elif t == EventType.ALERTS_DETACHED:
        s.alerts = dict(s.alerts)  # copy-on-write
        for key in d["keys"]:
            view = s.alerts.pop(key, None)
            if view is not None:
                s.alert_deliveries = max(0, s.alert_deliveries - view.deliveries)
        s.services = [x for x in s.services if any(v.service == x for v in s.alerts.values())]
        s.alerts_listed = len(s.alerts)
        s.alerts_started_at = min((v.starts_at for v in s.alerts.values() if v.starts_at), default=None)
        if d.get("title"):
            s.title = d["title"]
    elif t == EventType.SEVERITY_CHANGED:
        s.severity = d["severity"]
    elif t == EventType.DIAGNOSIS_STARTED:
        s.status = IncidentStatus.DIAGNOSING
        s.executions += 1
        s.hypotheses, s.faults = {}, []
    elif t == EventType.HYPOTHESES_PROPOSED:
        s.hypotheses = {**s.hypotheses, d["agent"]: [Hypothesis.model_validate(h) for h in d["hypotheses"]]}
    elif t == EventType.AGENT_FAULTED:
        s.faults = [*s.faults, dict(d)]
    elif t == EventType.CONSENSUS_REACHED:
        s.decision = Decision.model_validate(d["decision"])
    elif t == EventType.DECISION_MADE:
        if d["kind"] != "escalate":  # the commander itself takes ownership when it acts or monitors
            _acknowledge(s, event)
        s.decision_kind = d["kind"]
        s.status = {"auto_remediate": IncidentStatus.MITIGATING, "monitor": IncidentStatus.MONITORING,
                    "escalate": IncidentStatus.ESCALATED}[d["kind"]]
    elif t == EventType.ESCALATION_SENT:
        s.escalation_level, s.escalation_open = d["level"], True
        s.status = IncidentStatus.ESCALATED
    elif t == EventType.ESCALATION_UNANSWERED:
        s.escalation_open = False
    elif t in (EventType.HUMAN_APPROVED, EventType.HUMAN_REJECTED, EventType.HUMAN_REASSIGNED):
        s.escalation_open = t == EventType.HUMAN_REASSIGNED
        s.human = {"response": t.value.split(".")[1], **d, "at": event.at.isoformat()}
        _acknowledge(s, event)
    elif t == EventType.ACKNOWLEDGED:
        _acknowledge(s, event)
    elif t == EventType.ACTION_RUN:
        s.status = IncidentStatus.MITIGATED
        s.mitigated_at = s.mitigated_at or event.at
    elif t == EventType.MONITORING_STARTED:
        s.status = IncidentStatus.MONITORING
    elif t == EventType.MITIGATED:
        s.status = IncidentStatus.MITIGATED
        s.mitigated_at = s.mitigated_at or event.at
    elif t == EventType.RESOLVED:
        s.status = IncidentStatus.RESOLVED
        s.resolved_at, s.resolved_by = event.at, d["by"]
        s.mitigated_at = s.mitigated_at or event.at
        _acknowledge(s, event)
        if d.get("category") or d.get("service"):
            s.confirmed_root_cause = {"category": d.get("category"), "service": d.get("service"), "by": d["by"]}
    elif t == EventType.REOPENED:
        s.status = IncidentStatus.OPEN
        s.resolved_at = s.resolved_by = s.confirmed_root_cause = None
        s.reopened += 1
    elif t == EventType.EVENT_REPAIRED:
        s.repairs += 1
    elif t == EventType.ARCHIVED:
        s.archive = dict(d)
    return s


def needs_alerts(type_: EventType, data: dict[str, Any]) -> bool:
    """Whether folding this event reads or changes the alert views (the append must read them
    first), or must store them (an archived incident's events leave the table)."""
    return bool(type_ == EventType.ALERTS_ATTACHED and data.get("alerts")
                or type_ == EventType.ALERTS_UPDATED and data.get("changes")
                or type_ == EventType.ALERTS_DETACHED and data.get("keys")
                or type_ == EventType.ARCHIVED)


def _acknowledge(s: IncidentState, event: StoredEvent) -> None:
    if s.acknowledged_at is None:
        s.acknowledged_at, s.acknowledged_by = event.at, event.actor


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
