"""Fault injection on the local stack, the CI-sized set (`make bench-faults` runs every fault).

Each fault replays a storm through the real pipeline while a dependency misbehaves, in a process of
its own (each run starts a fresh moto account); every accepted alert must end in an incident, a
noise decision or the dead-letter queue (then be redriven), and the predictions must be the
fault-free run's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_FAULTS = ("crash", "outage", "ddb-conflicts", "kinesis-partial", "notify-5xx")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "rows.json"
    r = subprocess.run([sys.executable, "-m", "tests.fault_injection", "--small", "--shared-baseline",
                        "--faults", ",".join(CI_FAULTS), "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return {row["fault"] if row["profile"] == "default" or row["fault"] != "none" else "none/" + row["profile"]: row
            for row in json.loads(out.read_text())}


def faulted(rows, prefix):
    return next(r for name, r in rows.items() if name.startswith(prefix))


@pytest.mark.parametrize("prefix", ["none", "Lambda crashing", "detection down", "DynamoDB conditional",
                                    "Kinesis PutRecords", "Slack / PagerDuty"])
def test_no_alert_is_lost_and_the_predictions_are_the_fault_free_ones(rows, prefix):
    r = faulted(rows, prefix)
    assert r["alerts_in"] > 20 and r["refused"] == 0
    assert r["unaccounted"] == [] and r["accounted"] == r["alerts_in"], r["outcomes"]
    assert r["decisions_changed"] == [] and r["regrouped"] == [], r
    if prefix != "none":
        assert sum(r["injected"].values()) > 0 or r["checks"], r  # the fault really happened


def test_breakers_open_on_a_failing_channel_and_the_escalation_records_it(rows):
    r = faulted(rows, "Slack / PagerDuty")
    assert r["checks"]["circuits"] == {"slack": "open", "pagerduty": "open"}
    # the API function's GET /health shows the circuits the escalation function's containers opened
    assert r["checks"]["health"]["circuits"] == {"slack": "open", "pagerduty": "open"}
    assert r["checks"]["health"]["circuit_breakers"] == "degraded" and r["checks"]["health"]["status"] == 200
    recorded = r["checks"]["deliveries recorded"]
    assert recorded.get("slack:oncall delivered", 0) == 0 and recorded["slack:oncall failed"] == r["incidents"]
    # two failures open each circuit (IC_RESILIENCE_BREAKERS in this profile); an escalation that started while
    # the circuit was still closed may still call (concurrent workflows), none calls more than once per channel
    assert 2 * 2 <= r["checks"]["notification requests"] <= 2 * r["incidents"]


def test_batches_dead_lettered_by_an_outage_are_redriven_and_placed_once(rows):
    r = faulted(rows, "detection down")
    assert r["redrive"]["batches dead-lettered"] == 2 and r["redrive"]["records redriven"] >= 2
    assert r["redrive"].get("batches kept in the queue", 0) == 0
    assert r["outcomes"]["dead_letter"] == 0 and r["outcomes"]["incident"] + r["outcomes"]["noise"] == r["alerts_in"]
