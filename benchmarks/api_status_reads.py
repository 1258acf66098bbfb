"""Status reads (`GET /incidents/{id}`) under 50 concurrent clients on the local stack; prints figures.

The server (`LocalServer`: moto, the real api handler behind the API Gateway-like front end) runs in
a child process, seeded with two scenarios' storms; the clients run here, each on its own keep-alive
connection, for a bounded number of requests. "handler" is the api function's own
`Server-Timing: app;dur=` (time inside the handler), "client" the round trip. Locally the function
is one warm container, so requests queue in the front end (client time); in AWS each concurrent
request gets a container of its own and sees only the handler time (plus API Gateway's overhead).

    .venv/bin/python -m benchmarks.api_status_reads [--clients 50] [--requests 3000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

TIMING = re.compile(r"app;dur=([0-9.]+)")
# production's topology cache (the local stack's default of 0 re-reads it on every request)
SERVER_ENV = {"IC_DETECTION_SETTLE_QUIET_SECONDS": "2", "IC_DETECTION_SETTLE_MAX_SECONDS": "10",
              "IC_TOPOLOGY_TTL_SECONDS": "30"}
SEED = ("database-cascade", "storage-failure")


def serve() -> None:
    """Child process: the local server seeded with two scenarios' storms, printing its URL, until stdin closes."""
    from datetime import timedelta

    from incident_commander.clock import SHARED
    from incident_commander.local.http_api import LocalServer
    from incident_commander.local.player import Player
    from incident_commander.scenarios import get_scenario

    server = LocalServer(0, rate=1e9, burst=10**9).start()
    player = Player(server.stack)
    for name in SEED:  # delivered as recent history through the webhook API, like POST /scenarios does
        scenario = get_scenario(name)
        server.stack.put_topology(scenario.topology_yaml)
        for d in scenario.render(SHARED() - timedelta(seconds=scenario.duration_s / 10), speed=10):
            status, reply = player.api("POST", f"/alerts/{d.source}", d.body, d.at)
            assert status == 202, reply
        server.stack.pump.drain()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json", "X-IC-User": "bench"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data, r.getheader("Server-Timing") or ""


def decided(url: str) -> list[str]:
    """The seeded incidents, once every one of them is decided."""
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, data, _ = request(conn, "GET", "/incidents?limit=100")
        incidents = json.loads(data)["incidents"]
        if incidents and all(i["decision"] for i in incidents):
            return [i["id"] for i in incidents]
        time.sleep(1)
    raise SystemExit("incidents were not decided in time")


def load(url: str, paths: list[str], clients: int, total: int) -> dict[str, list[float]]:
    host = urlsplit(url)
    per_client = max(1, total // clients)
    client_ms: list[float] = []
    handler_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        mine_c, mine_h = [], []
        start_gate.wait()
        for i in range(per_client):
            path = paths[(k + i) % len(paths)]
            t = time.perf_counter()
            status, data, timing = request(conn, "GET", path)
            mine_c.append((time.perf_counter() - t) * 1000)
            m = TIMING.search(timing)
            if status != 200 or not m:
                with lock:
                    errors.append(f"{status} {data[:100]!r}")
                continue
            mine_h.append(float(m.group(1)))
        conn.close()
        with lock:
            client_ms.extend(mine_c)
            handler_ms.extend(mine_h)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"client": client_ms, "handler": handler_ms, "errors": errors, "elapsed": [elapsed]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def report(label: str, r: dict[str, list[float]]) -> None:
    n, elapsed = len(r["client"]), r["elapsed"][0]
    print(f"{label:<34} {n:>6} req  {n / elapsed:7.1f} req/s  errors {len(r['errors'])}")
    for kind in ("handler", "client"):
        v = r[kind]
        print(f"    {kind:<8} ms  p50 {pct(v, 50):7.1f}  p90 {pct(v, 90):7.1f}  p99 {pct(v, 99):7.1f}  "
              f"max {max(v) if v else float('nan'):7.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=3000, help="total requests per setting (bounded load)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = p.parse_args()
    if args.serve:
        serve()
        return
    print(f"{args.clients} concurrent clients, {args.requests} requests per endpoint, local stack (moto) on "
          f"127.0.0.1, {os.cpu_count()} CPUs shared by server and clients")
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.api_status_reads", "--serve"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **SERVER_ENV})
    try:
        url = child.stdout.readline().strip()
        ids = decided(url)
        paths = [f"/incidents/{i}" for i in ids]
        load(url, paths, args.clients, 200)  # warm the function and its caches
        report(f"GET /incidents/{{id}} ({len(ids)} incidents)", load(url, paths, args.clients, args.requests))
        report("GET /incidents (list, 25 a page)", load(url, ["/incidents"], args.clients, args.requests // 3))
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    print("target: GET /incidents/{id} p99 <= 50 ms in the handler")


if __name__ == "__main__":
    main()
