"""The README's main job: the demo plays a scenario end to end and prints a timeline ending in a decision."""

import subprocess
import sys


def test_demo_prints_a_full_timeline_with_a_decision():
    r = subprocess.run([sys.executable, "-m", "incident_commander.local.cli", "demo", "--speed", "400"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("incident opened", "alert(s) received", "diagnosis started", "diagnoser proposes", "votes:",
                   "DECISION", "MTTR so far", "cost so far", "timeline hash chain: verified"):
        assert needle in out, needle
    assert "resource_exhaustion @ orders-db" in out
