"""`make bench`: every benchmark that prints figures, one after the other, each in its own process.

Add a benchmark by appending its module (runnable as `python -m benchmarks.<name>`) to BENCHMARKS.
Figures are printed, never asserted; a benchmark that fails is reported and the others still run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ["detection", "consensus", "memory_bench", "diagnosis_calibration", "api_status_reads", "event_store",
              "faults", "cost", "itbench_fast"]  # benchmarks.itbench (~20 min) runs on its own


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"== benchmarks.{name}", flush=True)
        started = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT)
        print(f"== benchmarks.{name}: exit {r.returncode} after {time.perf_counter() - started:.0f} s", flush=True)
        if r.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
