"""Event store against the local stack (DynamoDB on moto server, over HTTP): throughput and append
latency, and the concurrency proof at full size: 8 writers x 500 events to one incident, every
event stored exactly once, versions contiguous, the chain verifies.

    .venv/bin/python -m benchmarks.event_store [--writers 8] [--events 500] [--sequential 1000]

Figures are moto's, on this machine: they say what the code costs and that it stays correct under
contention, not what DynamoDB would do (single-digit ms per transaction, no global lock).
`tests/integration/test_event_store_dynamodb.py` runs the same driver small in CI.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from incident_commander.models.events import EventType, IncidentOpened, MonitoringStarted, NewEvent
from incident_commander.store.integrity import verify_chain
from incident_commander.store.port import EventStore, append_with_retry

AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Run:
    writers: int
    per_writer: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds per append, retries included
    stats: dict[str, int] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def appends(self) -> int:
        return len(self.latencies)

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {"appends": self.appends, "seconds": round(self.elapsed, 2),
                "appends_per_s": round(self.appends / self.elapsed, 1) if self.elapsed else None,
                "p50_ms": round(statistics.median(lat) * 1000, 2) if lat else None,
                "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2) if lat else None,
                "conflicts": self.stats.get("conflicts", 0),
                "conflicts_per_append": round(self.stats.get("conflicts", 0) / self.appends, 2) if lat else None}


def open_incident(store: EventStore, incident_id: str) -> None:
    store.append(incident_id, 0, [NewEvent.of(EventType.INCIDENT_OPENED, IncidentOpened(
        scope="bench", title="bench", severity="high", first_alert_at=AT), AT, "bench", f"{incident_id}/open")])


def concurrent_appends(store: EventStore, incident_ids: list[str], writers: int, per_writer: int,
                       duplicate_every: int = 0) -> Run:
    """`writers` threads (writer w on incident_ids[w % len]) each append `per_writer` events, one per
    append, with the retry the agents use; every `duplicate_every`-th event is sent twice with the
    same idempotency key (a retried request) and must be stored once."""
    run = Run(writers, per_writer)
    lock = threading.Lock()
    start = threading.Barrier(writers + 1)

    def writer(w: int) -> None:
        iid, mine = incident_ids[w % len(incident_ids)], []
        start.wait()
        try:
            for i in range(per_writer):
                key = f"w{w}/{i}"
                event = NewEvent.of(EventType.MONITORING_STARTED, MonitoringStarted(reason=key), AT, f"w{w}", key)
                t = time.perf_counter()
                append_with_retry(store, iid, lambda _s, e=event: [e], attempts=1000, stats=run.stats)
                mine.append(time.perf_counter() - t)
                if duplicate_every and i % duplicate_every == 0:
                    append_with_retry(store, iid, lambda _s, e=event: [e], attempts=1000, stats=run.stats)
        except BaseException as exc:  # noqa: BLE001 - reported by check_chain's caller
            with lock:
                run.errors.append(exc)
        with lock:
            run.latencies += mine

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    run.elapsed = time.perf_counter() - t0
    return run


def check_chain(store: EventStore, incident_id: str, expected_events: int) -> list[str]:
    """What the concurrency proof requires; returns the problems found (none: proven)."""
    items, state = store.read_items(incident_id), store.get_state(incident_id)
    problems = []
    if len(items) != expected_events or state is None or state.version != expected_events:
        problems.append(f"{len(items)} events stored, projection at {state.version if state else None}, "
                        f"{expected_events} expected")
    reasons = [i["data"] for i in items[1:]]
    if len(set(reasons)) != len(reasons):
        problems.append(f"{len(reasons) - len(set(reasons))} events stored twice")
    if [int(i["seq"]) for i in items] != list(range(1, len(items) + 1)):
        problems.append("sequence numbers are not contiguous")
    result = verify_chain(incident_id, items, state.last_hash if state else None, state.version if state else None)
    if not result.ok:
        problems.append(f"chain does not verify: {result.problem}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--events", type=int, default=500, help="events per writer")
    p.add_argument("--sequential", type=int, default=1000, help="appends by one writer")
    args = p.parse_args(argv)

    from incident_commander import names as n
    from incident_commander import wiring as w
    from incident_commander.adapters.dynamodb import DynamoEventStore
    from incident_commander.local.stack import LocalStack

    with LocalStack() as stack:
        store = DynamoEventStore(stack.resolve(w.Ref("table", n.T_EVENTS)), stack.resolve(w.Ref("table", n.T_INCIDENTS)))
        open_incident(store, "bench-seq")
        seq = concurrent_appends(store, ["bench-seq"], 1, args.sequential)
        print(f"one writer, one incident:        {seq.figures()}")
        ids = [f"bench-par-{i}" for i in range(args.writers)]
        for iid in ids:
            open_incident(store, iid)
        par = concurrent_appends(store, ids, args.writers, args.sequential // args.writers)
        print(f"{args.writers} writers, one incident each:  {par.figures()}")
        open_incident(store, "bench-hot")
        hot = concurrent_appends(store, ["bench-hot"], args.writers, args.events, duplicate_every=10)
        print(f"{args.writers} writers, ONE incident:      {hot.figures()}")
        problems = [str(e) for e in hot.errors] + check_chain(store, "bench-hot", 1 + args.writers * args.events)
        retried = args.writers * len(range(0, args.events, 10))
        print(f"  {args.writers} x {args.events} events (+{retried} retried with the same idempotency key): "
              + ("every event stored exactly once, versions 1.."
                 f"{1 + args.writers * args.events} contiguous, chain verifies" if not problems
                 else "PROBLEMS: " + "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
