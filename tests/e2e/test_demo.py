"""The README's main job: `demo` plays the scenarios end to end and prints timelines ending in decisions."""

import re
import subprocess
import sys

from incident_commander.scenarios import SCENARIOS

from tests.integration.test_api_scenarios import KNOWN_MISDIAGNOSED


def test_demo_all_prints_every_scenario_through_to_a_verified_decision():
    r = subprocess.run([sys.executable, "-m", "incident_commander.local.cli", "demo", "all", "--speed", "1000"],
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("incident opened", "alert(s) received", "diagnosis started", "diagnoser proposes", "votes:",
                   "DECISION", "MTTR so far", "cost so far", "stage decision"):
        assert needle in out, needle
    assert "BROKEN" not in out and out.count("timeline hash chain: verified") >= len(SCENARIOS)
    for name, s in SCENARIOS.items():
        verdict = re.search(rf"^{name}: expected {s.expected_category} @ {s.expected_service}; diagnosed (\S+) @ (\S+) "
                            r"-- (RIGHT|WRONG)$", out, re.M)
        assert verdict, f"{name} did not finish"
        assert verdict.group(3) == "RIGHT" or name in KNOWN_MISDIAGNOSED, verdict.group(0)
