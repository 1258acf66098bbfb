"""One function per state-machine task. Inputs and outputs are small (ids, kinds, counts): the event
store holds the data, so executions stay far below the 256 KB payload limit.

Every append carries an idempotency key made of the execution name and the step, so a Retry that
re-runs a task after it already wrote records nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

from ..consensus import Ballot, Universe, decide
from ..consensus.track_record import with_vote
from ..diagnosis import DiagnosisInput, get_diagnoser
from ..models import Decision, DecisionKind
from ..models.events import (
    ActionRun,
    AgentFaulted,
    ConsensusReached,
    DecisionMade,
    DiagnosisStarted,
    EscalationSent,
    EscalationTimedOut,
    EscalationUnanswered,
    EventType,
    HypothesesProposed,
    MonitoringStarted,
    NewEvent,
    NotificationDelivery,
)
from ..models.incident import IncidentState
from ..runtime import Deps
from ..store.port import append_with_retry


class IncidentMissing(LookupError):
    pass


def _state(deps: Deps, incident_id: str) -> IncidentState:
    state = deps.events.get_state(incident_id)
    if state is None:
        raise IncidentMissing(f"incident {incident_id} does not exist")
    return state


def _append(deps: Deps, incident_id: str, events: list[NewEvent]) -> IncidentState | None:
    _, state = append_with_retry(deps.events, incident_id, lambda _s: events)
    return state


def begin(deps: Deps, incident_id: str, execution: str, attempt: int = 1) -> dict[str, Any]:
    state = _state(deps, incident_id)
    tier = max((deps.topology().services[s].tier for s in state.services if s in deps.topology().services),
               key=lambda t: {"critical": 3, "high": 2, "medium": 1, "low": 0}[t], default="medium")
    _append(deps, incident_id, [NewEvent.of(
        EventType.DIAGNOSIS_STARTED, DiagnosisStarted(execution=execution, alert_count=state.distinct_alerts),
        deps.clock(), "agent:orchestrator", f"{execution}/begin")])
    return {"severity": state.severity, "tier": tier, "alerts": state.distinct_alerts,
            "agent_timeout_seconds": deps.settings.consensus.agent_timeout_seconds}


def diagnose(deps: Deps, incident_id: str, diagnoser: str, execution: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    state = _state(deps, incident_id)
    agent = deps.extras.get(f"diagnoser:{diagnoser}") or get_diagnoser(diagnoser)  # a handler's, wired to breakers
    inp = DiagnosisInput.build(state, deps.topology())
    hypotheses = agent.diagnose(inp)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    note = "; ".join(filter(None, [f"considered {len(inp.observed)} of {state.distinct_alerts} alerts"
                                   if inp.sampled else "", *getattr(agent, "notes", [])]))[:1000]
    _append(deps, incident_id, [NewEvent.of(
        EventType.HYPOTHESES_PROPOSED, HypothesesProposed(agent=diagnoser, hypotheses=hypotheses, duration_ms=ms,
                                                          note=note),
        deps.clock(), f"agent:{diagnoser}", f"{execution}/hypotheses/{diagnoser}")])
    top = hypotheses[0] if hypotheses else None
    return {"agent": diagnoser, "ok": True, "hypotheses": len(hypotheses),
            "top": {"category": top.category.value, "service": top.service} if top else None}


def consensus(deps: Deps, incident_id: str, branches: list[dict[str, Any]], execution: str,
              tier: str | None = None) -> dict[str, Any]:
    """Weigh the recorded votes. Failed, excluded and outlying agents are recorded as faults."""
    state = _state(deps, incident_id)
    at = deps.clock()
    ballots: list[Ballot] = []
    reported = {str(b.get("agent", "unknown")): b for b in branches}
    for agent, b in reported.items():
        if b.get("skipped"):
            continue  # an agent switched off by configuration is not a voter (no fault, no quorum share)
        if not b.get("ok"):
            ballots.append(Ballot(agent, error=f"{b.get('error', 'error')}: {str(b.get('cause', ''))[:300]}"))
        elif agent not in state.hypotheses:
            ballots.append(Ballot(agent, error="reported success but recorded no hypotheses"))
        else:
            ballots.append(Ballot(agent, [h.model_dump() for h in state.hypotheses[agent]]))
    topo = deps.topology()
    universe = Universe.of(state.alerts, set(topo.services) | set(state.services))
    records = deps.control.get_agent_records() if deps.control is not None else {}
    resolved = sum(1 for a in state.alerts.values() if a.status == "resolved")
    decision: Decision = decide(ballots, deps.settings.consensus, universe, records, tier=tier,
                                severity=state.severity, resolved_ratio=resolved / max(1, len(state.alerts)),
                                tiers={name: svc.tier for name, svc in topo.services.items()})
    events: list[NewEvent] = []
    for v in decision.votes:
        if v.fault:
            reason = v.excluded or f"voted {v.category}@{v.service} against a supermajority"
            kind = {"failed": "error", "outlier": "outlier"}.get(v.fault, "byzantine")
            if v.fault == "failed" and "Timeout" in reason:
                kind = "timeout"
            events.append(NewEvent.of(EventType.AGENT_FAULTED, AgentFaulted(agent=v.agent, reason=reason, kind=kind),
                                      at, "agent:consensus", f"{execution}/fault/{v.agent}"))
    root = decision.root_cause
    events.append(NewEvent.of(EventType.CONSENSUS_REACHED, ConsensusReached(decision=decision), at,
                              "agent:consensus", f"{execution}/consensus"))
    events.append(NewEvent.of(EventType.DECISION_MADE, DecisionMade(
        kind=decision.kind, confidence=decision.confidence, category=root.category if root else None,
        service=root.service if root else None, reason=decision.reason, action=decision.action),
        at, "agent:consensus", f"{execution}/decision"))
    _append(deps, incident_id, events)
    if deps.control is not None:
        for v in decision.votes:
            if v.excluded is None:
                deps.control.update_agent_record(v.agent, lambda r, o=v.outlier: with_vote(r, o))
    return {"kind": decision.kind.value, "confidence": decision.confidence, "action": decision.action}


def remediate(deps: Deps, incident_id: str, execution: str, approved_by: str | None = None) -> dict[str, Any]:
    """Run the decided action. Actions are recorded as dry runs until an executor is configured."""
    state = _state(deps, incident_id)
    d = state.decision
    action = (d.action or (d.root_cause.action if d and d.root_cause else None)) if d else None
    target = d.root_cause.service if d and d.root_cause else None
    who = f" (approved by {approved_by})" if approved_by else ""
    _append(deps, incident_id, [NewEvent.of(
        EventType.ACTION_RUN, ActionRun(action=action, target=target, dry_run=True,
                                        result=f"{action or 'no action'} on {target or 'n/a'} recorded as a dry run{who}"),
        deps.clock(), approved_by or "agent:remediation", f"{execution}/remediate")])
    return {"action": action, "target": target}


def monitor(deps: Deps, incident_id: str, execution: str) -> dict[str, Any]:
    state = _state(deps, incident_id)
    reason = state.decision.reason if state.decision else "low-risk pattern"
    _append(deps, incident_id, [NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=reason),
                                            deps.clock(), "agent:orchestrator", f"{execution}/monitor")])
    return {"monitoring": True}


def plan_escalation(deps: Deps, incident_id: str, level: int) -> dict[str, Any]:
    levels = deps.settings.escalation.levels
    if level >= len(levels):
        return {"level": level, "exhausted": True, "timeout_seconds": 1, "level_name": "none"}
    lv = levels[level]
    return {"level": level, "exhausted": False, "timeout_seconds": lv.timeout_seconds, "level_name": lv.name}


def notify_escalation(deps: Deps, incident_id: str, level: int, token: str, execution: str) -> dict[str, Any]:
    """Store the task token (the API answers with it), tell the level's contacts through the Notifier
    (`deps.extras["notifier"]`: Slack / PagerDuty behind breakers and rate limits) and record what each
    delivery did in `escalation.sent`. A failed notification never blocks the escalation: the token is
    stored first, the workflow waits either way, and the API and dashboard can answer."""
    state = _state(deps, incident_id)
    lv = deps.settings.escalation.levels[level]
    deps.control.put_task_token(incident_id, token, level, lv.name)
    reason = state.decision.reason if state.decision else "needs a human"
    key = f"{execution}/escalation/{level}"
    sent = next((e for e in reversed(deps.events.read(incident_id)) if e.idempotency_key == key), None)
    if sent is not None:  # a Retry of this task after it recorded: notify nobody twice
        return {"notified": lv.contacts, "delivered": [d["contact"] for d in sent.current_data().get("deliveries", [])
                                                       if d["delivered"]]}
    notifier = deps.extras.get("notifier")
    deliveries = notifier.notify(lv.contacts, {
        "incident_id": incident_id, "title": state.title or incident_id, "severity": state.severity,
        "summary": f"escalated to {lv.name}: {reason}"[:900], "reason": reason,
        "link": deps.extras.get("incident_link", "").format(incident_id=incident_id)}) if notifier else []
    _append(deps, incident_id, [NewEvent.of(
        EventType.ESCALATION_SENT, EscalationSent(level=level, level_name=lv.name, contacts=lv.contacts,
                                                  timeout_seconds=lv.timeout_seconds, reason=reason,
                                                  deliveries=[NotificationDelivery(**vars(d)) for d in deliveries]),
        deps.clock(), "agent:escalation", key)])
    return {"notified": lv.contacts, "delivered": [d.contact for d in deliveries if d.delivered]}


def escalation_timed_out(deps: Deps, incident_id: str, level: int, execution: str) -> dict[str, Any]:
    _state(deps, incident_id)
    levels = deps.settings.escalation.levels
    name = levels[level].name if level < len(levels) else str(level)
    _append(deps, incident_id, [NewEvent.of(EventType.ESCALATION_TIMED_OUT,
                                            EscalationTimedOut(level=level, level_name=name), deps.clock(),
                                            "agent:escalation", f"{execution}/timeout/{level}")])
    return {"level": level + 1}


def escalation_unanswered(deps: Deps, incident_id: str, levels_tried: int, execution: str) -> dict[str, Any]:
    _state(deps, incident_id)
    _append(deps, incident_id, [NewEvent.of(EventType.ESCALATION_UNANSWERED,
                                            EscalationUnanswered(levels_tried=levels_tried), deps.clock(),
                                            "agent:escalation", f"{execution}/unanswered")])
    return {"unanswered": True}


def decision_kind(state: IncidentState) -> DecisionKind | None:
    return DecisionKind(state.decision_kind) if state.decision_kind else None
