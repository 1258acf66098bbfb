"""Embedded memory retrieval latency at scale (prints; no assertion).

    .venv/bin/python -m benchmarks.memory_bench [--sizes 10000 100000] [--queries 300]

Builds a store of N synthetic incident patterns (alert names, services, categories drawn from a
realistic vocabulary; unit vectors), then times `search` end to end — keyword (FTS5) + exact cosine
(numpy) + fusion + document fetch — for unfiltered and filtered queries. The query is embedded by the
hashing embedder so the figure is the store's own cost; the offline MiniLM's query embedding time is
printed separately (add it for the full diagnoser path).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from incident_commander.memory import MemoryQuery, Pattern
from incident_commander.memory.embedded import EmbeddedMemory
from incident_commander.memory.embedders import HashingEmbedder, MiniLMEmbedder
from incident_commander.models import Category

ALERTS = ["HighRequestErrorRate", "HighRequestLatency", "NoRequestsReceived", "KubePodCrashLooping",
          "KubePodNotReady", "KubeContainerWaiting", "TooManyConnections", "NodeFilesystemAlmostOutOfSpace",
          "CPUThrottlingHigh", "KubeContainerOOMKilled", "SSLCertExpired", "ThrottledRequests", "PacketLoss",
          "KafkaConsumerGroupInactive", "ReplicationLagHigh", "WAFBlockedRequestsHigh"]
SERVICES = [f"{a}-{b}" for a in ("orders", "cart", "checkout", "payments", "search", "users", "ledger", "catalog",
                                 "email", "auth") for b in ("api", "db", "worker", "cache", "queue")]
SYMPTOMS = ["errors", "latency", "no_traffic", "crashloop", "not_ready", "waiting", "connections", "disk", "cpu",
            "oom", "auth", "throttling", "network", "queue", "database", "attack"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic(n: int, seed: int = 7) -> list[Pattern]:
    rnd = random.Random(seed)
    cats = list(Category)
    out = []
    for i in range(n):
        svcs = rnd.sample(SERVICES, rnd.randint(1, 5))
        names = rnd.sample(ALERTS, rnd.randint(1, 4))
        out.append(Pattern(id=f"incident:{i}", title=f"{rnd.choice(cats).value} on {svcs[0]}: {', '.join(names)}",
                           category=rnd.choice(cats), service=svcs[0], services=svcs,
                           symptoms=rnd.sample(SYMPTOMS, rnd.randint(1, 3)), alert_names=names,
                           fix=rnd.choice(["restart_service", "scale_out", "rollback_deploy", ""]),
                           created_at=T0 + timedelta(minutes=i)))
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs), p))


def run(n: int, queries: int) -> None:
    pats = synthetic(n)
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        store = EmbeddedMemory(Path(d) / "bench.sqlite", HashingEmbedder())
        store.bulk_load(pats, vecs)
        build = time.perf_counter() - t0
        size_mb = (Path(d) / "bench.sqlite").stat().st_size / 1e6
        t0 = time.perf_counter()
        reopened = EmbeddedMemory(Path(d) / "bench.sqlite", HashingEmbedder())
        reopen = time.perf_counter() - t0
        rnd = random.Random(3)
        shapes = {
            "unfiltered": lambda: MemoryQuery(text=" ".join(rnd.sample(ALERTS, 3) + rnd.sample(SERVICES, 2)), k=8),
            "by service": lambda: MemoryQuery(text=" ".join(rnd.sample(ALERTS, 3)), services=rnd.sample(SERVICES, 2),
                                              k=8),
            "by category+time": lambda: MemoryQuery(text=" ".join(rnd.sample(ALERTS, 2)),
                                                    categories=[rnd.choice(list(Category))],
                                                    since=T0 + timedelta(minutes=n // 2), k=8),
        }
        print(f"\n{n:,} patterns: built in {build:.1f}s, file {size_mb:.0f} MB, reopened in {reopen:.2f}s")
        for name, make in shapes.items():
            for _ in range(10):
                reopened.search(make())
            times = []
            for _ in range(queries):
                q = make()
                t = time.perf_counter()
                reopened.search(q)
                times.append((time.perf_counter() - t) * 1000)
            print(f"  search {name:17s} p50 {pct(times, 50):6.1f} ms   p95 {pct(times, 95):6.1f} ms   "
                  f"p99 {pct(times, 99):6.1f} ms   ({queries} queries)")
        reopened.close()
        store.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=300)
    args = p.parse_args(argv)
    import os

    print("embedded memory (SQLite FTS5 + numpy exact cosine, 384 dimensions); target p99 <= 50 ms at 100k")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work inflates the tail)")
    for n in args.sizes:
        run(n, args.queries)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if MiniLMEmbedder.available():
        e = MiniLMEmbedder()
        text = "alerts HighRequestErrorRate TooManyConnections KubePodCrashLooping. symptoms errors connections " \
               "crashloop. services orders-api orders-db web"
        e.embed([text])
        times = []
        for _ in range(30):
            t = time.perf_counter()
            e.embed([text])
            times.append((time.perf_counter() - t) * 1000)
        print(f"\nquery embedding, all-MiniLM-L6-v2 (numpy, 1 BLAS thread): p50 {pct(times, 50):.1f} ms, "
              f"p99 {pct(times, 99):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
