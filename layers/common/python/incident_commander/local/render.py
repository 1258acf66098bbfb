"""One-line descriptions of timeline events, for the CLI demo."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _rel(at: datetime, start: datetime) -> str:
    s = int((at - start).total_seconds())
    sign = "-" if s < 0 else "+"
    s = abs(s)
    return f"T{sign}{s // 60:02d}:{s % 60:02d}"


def describe(event: dict[str, Any]) -> str:
    t, d = event["type"], event["data"]
    if t == "incident.opened":
        return f"incident opened: {d['title']} [{d['severity']}]"
    if t == "alerts.attached":
        names = ", ".join(f"{a['name']}@{a.get('service') or a.get('service_label') or '?'}" for a in d["alerts"][:4])
        more = f" (+{len(d['alerts']) - 4} more)" if len(d["alerts"]) > 4 else ""
        why = d["alerts"][0]["reason"]["detail"] if d["alerts"] else ""
        if not d["alerts"]:
            return f"{d['deliveries']} repeat deliveries of known alerts"
        return f"{len(d['alerts'])} alert(s) received: {names}{more}" + (f" -- {why}" if len(d["alerts"]) == 1 else "")
    if t == "alerts.detached":
        why = f": {d['reason']}" if d.get("reason") else ""
        return f"{len(d['keys'])} alert(s) regrouped into {d['to_incident'][-8:]}{why}"
    if t == "incident.severity_changed":
        return f"severity {d['previous']} -> {d['severity']}"
    if t == "alerts.updated":
        return "alert state: " + ", ".join(f"{c['key'][:12]} -> {c['status']}{' (flapping)' if c['flapping'] else ''}"
                                           for c in d["changes"][:4])
    if t == "diagnosis.started":
        return f"diagnosis started ({d['alert_count']} alerts) in {d.get('execution')}"
    if t == "hypotheses.proposed":
        hs = d["hypotheses"][:2]
        top = "; ".join(f"{h['category']} @ {h['service']} ({h['confidence']:.2f})" for h in hs) or "no hypothesis"
        return f"{d['agent']} diagnoser proposes {top}"
    if t == "agent.faulted":
        return f"agent {d['agent']} faulted ({d['kind']}): {d['reason'][:80]}"
    if t == "consensus.reached":
        dec = d["decision"]
        votes = ", ".join(f"{v['agent']} w={v['weight']:.2f}->{v.get('category')}@{v.get('service')}"
                          + (f" EXCLUDED ({v['excluded']})" if v.get("excluded") else "") for v in dec["votes"])
        return f"votes: {votes}; margin {dec['margin']:.2f}"
    if t == "decision.made":
        return (f"DECISION {d['kind'].upper()} ({d['confidence']:.2f}): {d.get('category')} @ {d.get('service')}"
                f" -- {d['reason']}")
    if t == "escalation.sent":
        return f"escalated to {d['level_name']} ({', '.join(d['contacts'])}), answer within {d['timeout_seconds']}s"
    if t == "escalation.timed_out":
        return f"no answer from {d['level_name']}"
    if t == "escalation.unanswered":
        return f"escalation unanswered after {d['levels_tried']} level(s)"
    if t.startswith("human."):
        return f"{t.split('.')[1]} by {d['by']}" + (f": {d['reason']}" if d.get("reason") else "")
    if t == "action.run":
        return f"action: {d['result']}"
    if t == "monitoring.started":
        return f"monitoring: {d['reason']}"
    if t == "incident.resolved":
        return f"resolved by {d['by']}: {d.get('category')} @ {d.get('service')}"
    if t in ("incident.acknowledged", "incident.mitigated", "incident.reopened"):
        return f"{t.split('.')[1]} by {d['by']}" + next((f": {d[k]}" for k in ("note", "how", "reason") if d.get(k)), "")
    if t == "event.repaired":
        return f"events {d['seqs']} repaired in {d['region']} from {d['source_region']}"
    if t == "incident.archived":
        return f"{d['events']} events archived to s3://{d['bucket']}/{d['key']}"
    return t


def line(event: dict[str, Any], start: datetime, incident_id: str) -> str:
    from ..timeutil import parse_iso

    return f"  {_rel(parse_iso(event['at']), start)}  {incident_id[-8:]}  {describe(event)}"
