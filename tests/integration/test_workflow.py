"""The real ASL executed by moto's interpreter, with the real handlers, on the local stack.

Assertions are on the execution history (which states ran) and on the incident timeline.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from incident_commander import names as n

from tests.helpers import TOPOLOGY, am_alert, am_body, play

pytestmark = pytest.mark.workflow


def history(stack, execution_arn: str) -> list[dict]:
    sfn = stack.client("stepfunctions")
    events, token = [], None
    while True:
        r = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events += r["events"]
        token = r.get("nextToken")
        if not token:
            return events


def entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def execution_for(player, incident_id: str) -> dict:
    return next(e for e in player.executions() if e["name"] == incident_id)


def wait_done(player, incident_id: str, timeout: float = 30) -> dict:
    import time

    sfn = player.stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = sfn.describe_execution(executionArn=execution_for(player, incident_id)["executionArn"])
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.05)
    raise TimeoutError(incident_id)


def incidents(player) -> list[dict]:
    status, body = player.api("GET", "/incidents", query={"limit": "100"})
    assert status == 200
    return body["incidents"]


def oom_storm(t0):
    return [(t0, "alertmanager", am_body(am_alert("ContainerOOMKilled", "db", t0, description="OOMKilled"),
                                         am_alert("HighMemoryUsage", "db", t0))),
            (t0 + timedelta(seconds=20), "alertmanager", am_body(am_alert("HighRequestErrorRate", "api", t0)))]


def ambiguous_storm(t0):
    return [(t0, "alertmanager", am_body(am_alert("HighRequestLatency", "web", t0, severity="warning"),
                                         am_alert("HighRequestErrorRate", "api", t0)))]


def test_auto_remediation_path(local_stack, player, t0):
    local_stack.put_topology(TOPOLOGY)
    started = play(player, oom_storm(t0))
    assert len(started) == 1
    incident_id = started[0]
    done = wait_done(player, incident_id)
    assert done["status"] == "SUCCEEDED"
    states = entered(history(local_stack, done["executionArn"]))
    assert states[:3] == ["Open diagnosis", "Diagnose in parallel", "Evidence rules"] or "Weigh the votes" in states
    _, inc = player.api("GET", f"/incidents/{incident_id}")
    assert "Run remediation" in states and "Wait for on-call" not in states, (inc["decision_detail"], inc["hypotheses"], inc["alerts_detail"])
    status, inc = player.api("GET", f"/incidents/{incident_id}")
    assert inc["decision"] == "auto_remediate"
    assert inc["root_cause"] == {"category": "resource_exhaustion", "service": "db"}
    assert inc["status"] == "mitigated"
    _, tl = player.api("GET", f"/incidents/{incident_id}/timeline")
    types = [e["type"] for e in tl["events"]]
    assert types[0] == "incident.opened" and "action.run" in types and tl["verified"] is True


def _escalated(local_stack, player, t0) -> str:
    local_stack.put_topology(TOPOLOGY)
    started = play(player, ambiguous_storm(t0))
    assert len(started) == 1
    incident_id = started[0]
    _, inc = player.api("GET", f"/incidents/{incident_id}")
    assert inc["decision"] == "escalate" and inc["status"] == "escalated"
    return incident_id


def test_escalate_then_approve(local_stack, player, t0):
    incident_id = _escalated(local_stack, player, t0)
    status, reply = player.api("POST", f"/incidents/{incident_id}/decision",
                               {"decision": "approve", "reason": "db restart is safe"}, headers={"x-ic-user": "alice"})
    assert status == 202, reply
    done = wait_done(player, incident_id)
    assert done["status"] == "SUCCEEDED"
    states = entered(history(local_stack, done["executionArn"]))
    assert "Wait for on-call" in states and "Run approved remediation" in states
    _, tl = player.api("GET", f"/incidents/{incident_id}/timeline")
    human = [e for e in tl["events"] if e["type"] == "human.approved"]
    assert human and human[0]["data"]["by"] == "alice" and human[0]["actor"] == "human:alice"
    # the token is spent: a second answer is a clear conflict
    status, reply = player.api("POST", f"/incidents/{incident_id}/decision", {"decision": "approve"})
    assert status == 409 and "no escalation" in reply["error"]


def test_escalate_then_reject(local_stack, player, t0):
    incident_id = _escalated(local_stack, player, t0)
    status, _ = player.api("POST", f"/incidents/{incident_id}/decision",
                           {"decision": "reject", "reason": "wrong service"}, headers={"x-ic-user": "bob"})
    assert status == 202
    done = wait_done(player, incident_id)
    assert done["status"] == "SUCCEEDED"
    states = entered(history(local_stack, done["executionArn"]))
    assert states[-1] == "Handed to responders" and "Run approved remediation" not in states
    _, inc = player.api("GET", f"/incidents/{incident_id}")
    assert inc["human"]["response"] == "rejected" and inc["human"]["by"] == "bob"


def test_failing_agent_is_caught_and_becomes_a_missing_vote(local_stack, player, t0):
    # topology and memory fail; the LLM is off: the evidence rules alone are below the quorum of two
    names = [local_stack.arns[f].split(":")[-1] for f in (n.F_DIAGNOSE_TOPOLOGY, n.F_DIAGNOSE_MEMORY)]

    def boom(event):
        raise RuntimeError("topology store unavailable")

    for name in names:
        local_stack.lambdas.faults[name] = boom
    try:
        local_stack.put_topology(TOPOLOGY)
        started = play(player, oom_storm(t0))
    finally:
        for name in names:
            local_stack.lambdas.faults.pop(name)
    incident_id = started[0]
    events = history(local_stack, execution_for(player, incident_id)["executionArn"])
    states = entered(events)
    assert "Topology localisation failed" in states and "Weigh the votes" in states
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert len(failed) >= 1 and "RuntimeError" in json.dumps(failed[0], default=str)
    _, inc = player.api("GET", f"/incidents/{incident_id}")
    assert inc["decision"] == "escalate"  # one healthy vote is below the quorum of two
    assert any(f["agent"] == "topology" for f in inc["faults"])
    assert "below quorum" in inc["decision_detail"]["reason"]
    # the execution is waiting for a human, not failed
    assert execution_for(player, incident_id)["status"] == "RUNNING"
    player.api("POST", f"/incidents/{incident_id}/decision", {"decision": "reject"})
    assert wait_done(player, incident_id)["status"] == "SUCCEEDED"


def test_escalation_times_out_to_next_level_then_unanswered(local_stack, player, t0):
    incident_id = _escalated(local_stack, player, t0)
    done = wait_done(player, incident_id, timeout=30)  # two levels of 2 s each
    assert done["status"] == "SUCCEEDED"
    states = entered(history(local_stack, done["executionArn"]))
    assert states.count("Wait for on-call") == 2 and states[-1] == "Escalation unanswered"
    _, tl = player.api("GET", f"/incidents/{incident_id}/timeline")
    types = [e["type"] for e in tl["events"]]
    assert types.count("escalation.sent") == 2 and types.count("escalation.timed_out") == 2
    assert types[-1] == "escalation.unanswered"


def test_duplicate_start_is_one_execution(local_stack, player, t0):
    local_stack.put_topology(TOPOLOGY)
    incident_id = play(player, oom_storm(t0))[0]
    from incident_commander.adapters.stepfunctions import StepFunctionsWorkflow

    wf = StepFunctionsWorkflow(local_stack.state_machine_arn)
    wf.start(incident_id, {"incident_id": incident_id, "attempt": 1})
    assert [e["name"] for e in player.executions()].count(incident_id) == 1


def _wait_for_level(player, incident_id: str, level: int, timeout: float = 20) -> None:
    import time

    from incident_commander.adapters.control import ControlStore

    control = ControlStore(player.stack.resolve(__import__("incident_commander.wiring", fromlist=["Ref"]).Ref(
        "table", n.T_CONTROL)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        token = control.get_task_token(incident_id)
        if token and token["level"] == level:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{incident_id} never reached escalation level {level}")


def test_escalation_timeout_moves_to_the_next_level_which_approves(local_stack, player, t0):
    incident_id = _escalated(local_stack, player, t0)
    _wait_for_level(player, incident_id, 1)  # level 0 timed out after 2 s
    status, reply = player.api("POST", f"/incidents/{incident_id}/decision", {"decision": "approve"},
                               headers={"x-ic-user": "carol"})
    assert status == 202 and reply["level"] == 1, reply
    done = wait_done(player, incident_id)
    states = entered(history(local_stack, done["executionArn"]))
    assert done["status"] == "SUCCEEDED"
    assert states.count("Wait for on-call") == 2 and "Escalation level timed out" in states
    assert states[-2:] == ["Run approved remediation", "Incident handled"]


def test_reassign_hands_the_escalation_to_another_level(local_stack, player, t0):
    incident_id = _escalated(local_stack, player, t0)
    status, reply = player.api("POST", f"/incidents/{incident_id}/decision",
                               {"decision": "reassign", "level": 1, "reason": "needs the database team"})
    assert status == 202
    _wait_for_level(player, incident_id, 1)
    assert player.api("POST", f"/incidents/{incident_id}/decision", {"decision": "approve"})[0] == 202
    done = wait_done(player, incident_id)
    states = entered(history(local_stack, done["executionArn"]))
    assert "Reassign escalation" in states and states[-1] == "Incident handled"
    _, tl = player.api("GET", f"/incidents/{incident_id}/timeline")
    sent = [e["data"]["level_name"] for e in tl["events"] if e["type"] == "escalation.sent"]
    assert sent == ["primary", "secondary"]


def test_one_agent_raising_one_timing_out_one_returning_garbage_still_decides(local_stack, player, t0):
    """Faults of three kinds at once: the execution still ends in a decision (escalate, below quorum), and
    the timeline names each fault. The agent timeout comes from configuration (the recorder's settings)."""
    import time

    lam = local_stack.client("lambda")
    recorder = local_stack.arns[n.F_RECORDER]
    env = lam.get_function_configuration(FunctionName=recorder)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=recorder, Environment={"Variables": {
        **env, "IC_CONSENSUS_AGENT_TIMEOUT_SECONDS": "2"}})  # a new "container" picks it up
    name = {k: local_stack.arns[k].split(":")[-1] for k in (n.F_DIAGNOSE_RULES, n.F_DIAGNOSE_TOPOLOGY,
                                                             n.F_DIAGNOSE_MEMORY)}

    def raising(event):
        raise RuntimeError("topology store unavailable")

    def slow(event):
        time.sleep(4)

    local_stack.lambdas.faults.update({
        name[n.F_DIAGNOSE_TOPOLOGY]: raising, name[n.F_DIAGNOSE_MEMORY]: slow,
        name[n.F_DIAGNOSE_RULES]: lambda event: {"agent": "rules", "ok": True, "hypotheses": "all of them"}})
    try:
        local_stack.put_topology(TOPOLOGY)
        incident_id = play(player, oom_storm(t0))[0]
    finally:
        for fn in name.values():
            local_stack.lambdas.faults.pop(fn, None)
        lam.update_function_configuration(FunctionName=recorder, Environment={"Variables": env})
    states = entered(history(local_stack, execution_for(player, incident_id)["executionArn"]))
    assert {"Topology localisation failed", "Similar past incidents failed"} <= set(states)
    assert "Weigh the votes" in states and "Wait for on-call" in states
    _, inc = player.api("GET", f"/incidents/{incident_id}")
    assert inc["decision"] == "escalate" and "below quorum" in inc["decision_detail"]["reason"]
    faults = {f["agent"]: f for f in inc["faults"]}
    assert faults["topology"]["kind"] == "error" and "RuntimeError" in faults["topology"]["reason"]
    assert faults["memory"]["kind"] == "timeout"
    assert "recorded no hypotheses" in faults["rules"]["reason"]
    player.api("POST", f"/incidents/{incident_id}/decision", {"decision": "reject"})
    assert wait_done(player, incident_id)["status"] == "SUCCEEDED"
