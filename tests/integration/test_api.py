"""The REST API through the real handler: bad input is a 4xx that names the problem, nothing is written."""

from __future__ import annotations

import pytest

from tests.conftest import load_event


def stream_records(stack) -> int:
    k = stack.client("kinesis")
    name = stack.resolve(__import__("incident_commander.wiring", fromlist=["Ref"]).Ref("stream", "alerts"))
    shard = k.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    total = 0
    while True:
        r = k.get_records(ShardIterator=it, Limit=1000)
        total += len(r["Records"])
        if not r["Records"]:
            return total
        it = r["NextShardIterator"]


def test_accepted_alerts_reach_the_stream(local_stack, player, t0):
    before = stream_records(local_stack)
    status, body = player.api("POST", "/alerts/alertmanager", load_event("alertmanager_firing.json"), t0)
    assert status == 202 and body["accepted"] == 2
    assert stream_records(local_stack) == before + 1  # one record per correlation scope
    player.stack.pump.drain()


@pytest.mark.parametrize("path, body, status, needle", [
    ("/alerts/nagios", {}, 404, "unknown alert source"),
    ("/alerts/alertmanager", "{not json", 400, "not valid JSON"),
    ("/alerts/alertmanager", {"alerts": "x"}, 400, "alerts"),
    ("/alerts/cloudwatch", {"detail-type": "Other"}, 400, "detail-type"),
    ("/alerts/alertmanager", "x" * 1_100_000, 413, "larger than"),
])
def test_bad_input_is_refused_with_a_reason_and_nothing_written(local_stack, player, path, body, status, needle):
    before = stream_records(local_stack)
    got, reply = player.api("POST", path, body)
    assert got == status and needle in reply["error"]
    assert stream_records(local_stack) == before


def test_unknown_incident_and_route(player):
    assert player.api("GET", "/incidents/inc-nope")[0] == 404
    assert player.api("GET", "/nowhere")[0] == 404
    status, reply = player.api("POST", "/incidents/inc-nope/decision", {"decision": "approve"})
    assert status == 404
    assert player.api("GET", "/incidents", query={"limit": "ten"})[0] == 400
