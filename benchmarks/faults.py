"""`make bench-faults`: the fault table. A storm replayed on the embedded local stack under each
injected fault (`tests/fault_injection.py` makes the faults and does the accounting), printed as one
row per run: alerts accepted, alerts accounted for (incident, noise decision or dead letter, after the
redrive), incidents, decisions that differ from the fault-free run and whether those escalated with
the reason, what was injected and the circuits' states.

`--from-json FILE` prints a table already measured (`--json FILE` keeps one).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def cells(row: dict[str, Any]) -> list[str]:
    changed = row["decisions_changed"]
    circuits = (row["checks"] or {}).get("circuits") or {}
    injected = ", ".join(f"{k} {v}" for k, v in sorted(row["injected"].items()) if v) or "-"
    return [row["fault"], f"{row.get('messages', '?')} / {row['alerts_in']}", str(row["accounted"]), str(len(row["unaccounted"])),
            redriven(row), str(row["incidents"]),
            f"{len(changed)}" + (" (escalated, reason in timeline)" if changed and row["changed_escalated_with_reason"]
                                 else " (NOT escalated with reason)" if changed else ""),
            str(len(row["regrouped"])), injected,
            ", ".join(f"{k} {v}" for k, v in sorted(circuits.items())) or "-", f"{row['seconds']:.0f}"]


def redriven(row: dict[str, Any]) -> str:
    r = row.get("redrive") or {}
    if not r.get("batches dead-lettered"):
        return "0"
    kept = r.get("batches kept in the queue", 0)
    return (f"{r['batches dead-lettered']} batches, {r.get('records redriven', 0)} records redriven"
            + (f", {kept} kept" if kept else ""))


HEADER = ["fault", "alert messages / distinct alerts in", "accounted", "unaccounted", "dead-lettered, then redriven", "incidents",
          "decisions changed", "regrouped", "injected", "circuits after", "s"]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-json", help="print this measured table instead of running one")
    ap.add_argument("--json", help="also keep the rows in this file")
    ap.add_argument("--small", action="store_true", help="the CI-sized storm")
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as fh:
            rows = json.load(fh)
    else:
        from tests.fault_injection import FAULTS, storm, table

        rows = table(list(FAULTS), storm(pods=4, resends=3) if args.small else storm())
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh, indent=1)
    print(markdown(rows))
    lost = sum(len(r["unaccounted"]) for r in rows)
    unexplained = [r["fault"] for r in rows if r["decisions_changed"] and not r["changed_escalated_with_reason"]]
    print(f"\n{len(rows)} runs; alerts unaccounted for: {lost}; runs whose changed decisions did not escalate "
          f"with the reason: {', '.join(unexplained) or 'none'}")
    return 1 if lost or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
