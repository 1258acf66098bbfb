"""`incident-commander replay` against the evaluation contract, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SHARED

CASES = SHARED / "eval" / "itbench"
CLI = [sys.executable, "-m", "incident_commander.local.cli"]
pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/eval/itbench not present")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def test_replay_writes_valid_predictions_that_the_scorer_reads(tmp_path):
    out = tmp_path / "preds" / "itb-021.json"
    r = run("replay", str(CASES / "itb-021"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    expected = json.loads((CASES / "itb-021" / "expected.json").read_text())
    keys = {k for inc in doc["incidents"] for k in inc["alert_keys"]}
    assert keys == {k for inc in expected["incidents"] for k in inc["alert_keys"]}
    for inc in doc["incidents"]:
        assert inc["decision"] in ("auto_remediate", "escalate", "monitor")
        assert inc["hypotheses"][0] == {k: inc["root_cause"][k] for k in ("category", "service", "confidence")}
    score = subprocess.run([sys.executable, str(SHARED / "eval" / "score.py"), str(CASES), str(out.parent)],
                           capture_output=True, text=True, timeout=120)
    assert score.returncode == 0 and "pairwise_f1" in score.stdout


def test_bad_input_exits_2_names_file_and_line_and_writes_nothing(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "events.jsonl").write_text('{"at": "2025-01-01T00:00:00Z", "source": "alertmanager", "body": {"alerts": []}}\n'
                                       '{"at": "2025-01-01T00:00:01Z", "source": "alertmanager", "body": {"alerts": 5}}\n')
    out = tmp_path / "p.json"
    r = run("replay", str(case), "--out", str(out))
    assert r.returncode == 2 and f"{case / 'events.jsonl'}:2" in r.stderr and "alerts" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()
    (case / "events.jsonl").write_text('{"at": "2025-01-01T00:00:00Z", "source": "zabbix", "body": {}}\n')
    r = run("replay", str(case), "--out", str(out))
    assert r.returncode == 2 and ":1: unknown source" in r.stderr
    (case / "events.jsonl").write_text("")
    (case / "topology.yaml").write_text("services:\n  a:\n    depends_on: [b]\n")
    r = run("replay", str(case), "--out", str(out))
    assert r.returncode == 2 and "topology.yaml" in r.stderr and not out.exists()
