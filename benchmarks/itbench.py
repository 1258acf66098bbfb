"""Quality benchmark: `incident-commander replay` over every ITBench case, then the shared scorer.

    .venv/bin/python -m benchmarks.itbench [--cases DIR] [--jobs 2] [--out artifacts/itbench]

Runs the real CLI (the full pipeline on the local stack) once per case, in parallel processes, and
prints the scorer's JSON. Exit status is the scorer's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EVAL = next((Path(c) / "eval" for c in (os.environ.get("IC_SHARED"), ROOT.parent / "shared",
                                                  "/work/shared") if c and (Path(c) / "eval").is_dir()),
                    ROOT.parent / "shared" / "eval")


def replay_all(cases: Path, out: Path, jobs: int) -> list[tuple[str, int, float, str]]:
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in cases.iterdir() if (p / "events.jsonl").is_file())

    def one(name: str) -> tuple[str, int, float, str]:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "incident_commander.local.cli", "replay", str(cases / name),
                            "--out", str(out / f"{name}.json"), "--quiet"], capture_output=True, text=True,
                           timeout=600)
        return name, r.returncode, time.perf_counter() - t0, r.stderr[-500:]

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, names))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--set", default="itbench")
    p.add_argument("--out", type=Path, default=ROOT / "artifacts" / "itbench")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--detail", action="store_true")
    args = p.parse_args(argv)
    cases = args.eval / args.set
    t0 = time.perf_counter()
    results = replay_all(cases, args.out, args.jobs)
    failed = [r for r in results if r[1] != 0]
    for name, code, _, err in failed:
        print(f"replay failed for {name} (exit {code}): {err}", file=sys.stderr)
    secs = [r[2] for r in results]
    print(f"replayed {len(results)} cases in {time.perf_counter() - t0:.0f}s "
          f"(median {sorted(secs)[len(secs) // 2]:.1f}s per case)", file=sys.stderr)
    score = subprocess.run([sys.executable, str(args.eval / "score.py"), str(cases), str(args.out)]
                           + (["--detail"] if args.detail else []), capture_output=True, text=True)
    print(score.stdout)
    if score.returncode:
        print(score.stderr, file=sys.stderr)
    return score.returncode or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
