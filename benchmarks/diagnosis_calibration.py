"""Diagnosis quality and confidence calibration on ITBench (in-process, like itbench_fast; prints).

    .venv/bin/python -m benchmarks.diagnosis_calibration [--set itbench]

For every expected incident, the predicted incident sharing most alerts is judged right when both
its root-cause category and service match. Prints a reliability table of the decided confidence
(is a 0.8 right 80% of the time? the target: decided at >= 0.8 must be right >= 90%), and each
diagnoser's own top-hypothesis accuracy and calibration, so consensus weights can be set from data.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from incident_commander.store.memory import InMemoryEventStore

from benchmarks import itbench_fast

BINS = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 1.01)]


class RecordingStore(InMemoryEventStore):
    last: RecordingStore | None = None

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        RecordingStore.last = self


def judged(case: Path) -> list[dict]:
    itbench_fast.InMemoryEventStore = RecordingStore  # keep the states the run produced
    itbench_fast.run_case(case)
    states = list(RecordingStore.last.states.values())
    expected = json.loads((case / "expected.json").read_text())
    topo = itbench_fast.load(case).topology
    out = []
    for exp in expected["incidents"]:
        keys = set(exp["alert_keys"])
        best = max(states, key=lambda s: len(keys & set(s.alerts)), default=None)
        if best is None or not keys & set(best.alerts):
            out.append({"case": case.name, "matched": False})
            continue
        want = (exp["category"], exp["service"].lower())

        def ok(h, want: tuple = want) -> bool:
            return h is not None and (h.category.value, (topo.resolve(h.service) or h.service or "").lower()) == want

        d = best.decision
        root = d.root_cause if d else None
        out.append({"case": case.name, "matched": True, "confidence": d.confidence if d else 0.0,
                    "decision": d.kind.value if d else None, "right": ok(root),
                    "service_right": root is not None and (root.service or "").lower() == want[1],
                    "agents": {a: (hs[0].confidence, ok(hs[0])) for a, hs in best.hypotheses.items() if hs}})
    return out


def learned(cases: Path) -> None:
    """Leave-one-out learning: each case diagnosed with a memory holding every OTHER case's incidents,
    resolved with their confirmed root cause (as a responder would confirm it). Shows what the memory
    adds once it has seen similar incidents; never the reported figure (that starts from an empty memory)."""
    import subprocess
    import sys
    import tempfile
    from datetime import timedelta

    import incident_commander.memory.factory as factory
    from incident_commander.memory.embedded import EmbeddedMemory
    from incident_commander.memory.embedders import CachedEmbedder, MiniLMEmbedder
    from incident_commander.memory.knowledge import load_knowledge
    from incident_commander.memory.learning import pattern_from_incident

    names = sorted(c.name for c in cases.iterdir() if (c / "expected.json").is_file())
    learned_from: dict[str, list] = {}
    for name in names:  # first pass: what each case's incidents look like, confirmed by its answer key
        itbench_fast.InMemoryEventStore = RecordingStore
        itbench_fast.run_case(cases / name)
        states = list(RecordingStore.last.states.values())
        pats = []
        for i, exp in enumerate(json.loads((cases / name / "expected.json").read_text())["incidents"]):
            best = max(states, key=lambda s, k=set(exp["alert_keys"]): len(k & set(s.alerts)), default=None)
            if best is None or best.first_alert_at is None:
                continue
            done = best.model_copy(update={"resolved_at": best.first_alert_at + timedelta(minutes=20),
                                           "confirmed_root_cause": {"category": exp["category"],
                                                                    "service": exp["service"], "by": "leave-one-out"}})
            pats.append(pattern_from_incident(done).model_copy(update={"id": f"{name}:{i}"}))
        learned_from[name] = pats
    embedder = CachedEmbedder(MiniLMEmbedder())
    knowledge = load_knowledge()
    real = factory.store_for
    with tempfile.TemporaryDirectory() as out:
        try:
            for name in names:
                store = EmbeddedMemory(":memory:", embedder)
                store.upsert(knowledge + [p for other, ps in learned_from.items() if other != name for p in ps])
                factory.store_for = lambda _cfg, store=store: store
                (Path(out) / f"{name}.json").write_text(json.dumps(itbench_fast.run_case(cases / name)))
        finally:
            factory.store_for = real
        r = subprocess.run([sys.executable, str(cases.parent / "score.py"), str(cases), out], capture_output=True,
                           text=True)
    score = json.loads(r.stdout)
    print("\nWith a memory of the other cases' confirmed incidents (leave-one-out, not the reported figure):")
    print("  " + ", ".join(f"{k} {score[k]}" for k in ("category_accuracy", "service_top1", "service_top3",
                                                       "unsafe_auto_rate")))


def scenarios() -> None:
    """The demo scenarios through the same in-process pipeline: decided root cause vs the expected one."""
    from types import SimpleNamespace

    from incident_commander.scenarios.catalog import SCENARIOS
    from incident_commander.topology import Topology

    print("\nDemo scenarios (target: right category and service, confidence >= 0.8)")
    real_load = itbench_fast.load
    try:
        for name, sc in sorted(SCENARIOS.items()):
            rec = SimpleNamespace(deliveries=sc.render(), topology=Topology.parse_yaml(sc.topology_yaml, name))
            itbench_fast.load = lambda _case, rec=rec: rec
            itbench_fast.InMemoryEventStore = RecordingStore
            itbench_fast.run_case(Path(name))
            states = sorted(RecordingStore.last.states.values(), key=lambda st: -len(st.alerts))
            d = states[0].decision if states else None
            root = d.root_cause if d else None
            got = (root.category.value, root.service) if root else (None, None)
            ok = got == (sc.expected_category, sc.expected_service)
            print(f"  {name:18s} expected {sc.expected_category}@{sc.expected_service}; decided "
                  f"{got[0]}@{got[1]} confidence {d.confidence if d else 0:.2f} {d.kind.value if d else '-'} "
                  f"{'OK' if ok and d and d.confidence >= 0.8 else 'right, under 0.8' if ok else 'WRONG'} "
                  f"({len(states)} incident(s))")
    finally:
        itbench_fast.load = real_load


def table(rows: list[tuple[float, bool]], title: str) -> None:
    print(f"\n{title}")
    print("  confidence   n   right   accuracy")
    for lo, hi in BINS:
        sel = [r for c, r in rows if lo <= c < hi]
        acc = f"{sum(sel) / len(sel):.2f}" if sel else "  - "
        print(f"  {lo:.1f}-{min(hi, 1.0):.1f}   {len(sel):4d}  {sum(sel):4d}    {acc}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--eval", type=Path, default=itbench_fast.DEFAULT_EVAL)
    p.add_argument("--set", default="itbench")
    p.add_argument("--learned", action="store_true", help="also run the leave-one-out learning experiment")
    args = p.parse_args(argv)
    results = [r for case in sorted((args.eval / args.set).iterdir()) if (case / "expected.json").is_file()
               for r in judged(case)]
    matched = [r for r in results if r["matched"]]
    print(f"{len(results)} expected incidents, {len(matched)} matched to a predicted incident")
    print(f"root cause right (category and service): {sum(r['right'] for r in matched) / len(results):.2f}; "
          f"service right: {sum(r['service_right'] for r in matched) / len(results):.2f}")
    table([(r["confidence"], r["right"]) for r in matched], "Reliability of the decided confidence (consensus)")
    high = [r for r in matched if r["confidence"] >= 0.8]
    if high:
        print(f"  decided with confidence >= 0.8: {len(high)}, right {sum(r['right'] for r in high) / len(high):.2f}"
              " (target >= 0.90)")
    else:
        print("  decided with confidence >= 0.8: none")
    auto = [r for r in matched if r["decision"] == "auto_remediate"]
    print(f"  auto_remediate decisions: {len(auto)}, wrong: {sum(not r['right'] for r in auto)}")
    per: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for r in matched:
        for agent, (conf, right) in r["agents"].items():
            per[agent].append((conf, right))
    print("\nPer diagnoser, top hypothesis:")
    for agent, rows in sorted(per.items()):
        print(f"  {agent:10s} voted {len(rows):3d}  right {sum(r for _, r in rows) / len(rows):.2f}  "
              f"mean confidence {sum(c for c, _ in rows) / len(rows):.2f}")
    for agent, rows in sorted(per.items()):
        table(rows, f"Reliability: {agent}")
    scenarios()
    if args.learned:
        learned(args.eval / args.set)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
