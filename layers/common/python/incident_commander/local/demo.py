"""`incident-commander demo [SCENARIO|all]`: play scenarios on the local stack and print the timeline live.

Deliveries go through the real API at the storm's own pace (`--speed` recording seconds per second)
on the shared virtual clock; after the storm, time moves on until every incident has settled and
its workflow has rested (decided, or waiting for a human).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

from ..config import DetectionConfig
from ..scenarios import SCENARIOS, Scenario, get_scenario
from ..timeutil import parse_iso
from .player import Player
from .render import line
from .stack import LocalStack

SETTLE_STEP_SECONDS = 15


def clock_text(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class TimelinePrinter:
    """Prints each incident's new timeline events, then its status, stage, MTTR and cost so far
    (at most every `every` wall seconds: fast plays print in batches)."""

    def __init__(self, player: Player, start: datetime, out: TextIO = sys.stdout, since: datetime | None = None,
                 every: float = 0.0):
        self.player, self.start, self.out, self.since, self.every = player, start, out, since, every
        self.seen: dict[str, int] = {}
        self.printed_at = 0.0

    def maybe_print(self) -> None:
        if time.monotonic() - self.printed_at >= self.every:
            self.print_new()

    def incidents(self) -> list[dict]:
        query = {"limit": "100", **({"since": self.since.isoformat()} if self.since else {})}
        status, body = self.player.api("GET", "/incidents", query=query)
        return body["incidents"] if status == 200 else []

    def print_new(self) -> list[dict]:
        self.printed_at = time.monotonic()
        incidents = self.incidents()
        for inc in sorted(incidents, key=lambda i: i["opened_at"] or ""):
            if inc["version"] <= self.seen.get(inc["id"], 0):
                continue
            _, tl = self.player.api("GET", f"/incidents/{inc['id']}/timeline")
            for e in tl["events"]:
                if e["seq"] > self.seen.get(inc["id"], 0):
                    print(line(e, self.start, inc["id"]), file=self.out)
            # the timeline may already hold events appended after the list was read: never print them twice
            self.seen[inc["id"]] = max([inc["version"], *(e["seq"] for e in tl["events"])])
            print(f"           {inc['id'][-8:]}  status {inc['status']}, stage {inc['stage']}; MTTR so far "
                  f"{clock_text(inc['mttr_seconds'])}; cost so far ${inc['cost_so_far']:,.0f} "
                  f"(${inc['cost_per_minute']:,.0f}/min, {inc['users_affected']:,} users)", file=self.out)
        self.out.flush()
        return incidents


def play(stack: LocalStack, scenario: Scenario, start: datetime, speed: float, out: TextIO = sys.stdout) -> list[dict]:
    """Play one scenario live; returns its incidents once every workflow has come to rest."""
    stack.put_topology(scenario.topology_yaml)
    player = Player(stack)
    frame = 0.0 if speed <= 50 else 0.3  # fast plays: the stream consumer and the printer catch up per frame
    printer = TimelinePrinter(player, start, out, since=start - timedelta(hours=1), every=frame)
    wall0 = time.monotonic()
    deliveries = scenario.render(start)
    caught_up = 0.0
    for i, d in enumerate(deliveries):
        delay = (d.at - start).total_seconds() / speed - (time.monotonic() - wall0)
        if delay > 0:
            time.sleep(delay)
        player.clock.set(d.at)
        status, reply = player.api("POST", f"/alerts/{d.source}", d.body, d.at)
        if status >= 300:
            print(f"  delivery refused: {status} {reply}", file=sys.stderr)
        if time.monotonic() - caught_up >= frame or i == len(deliveries) - 1:
            stack.pump.drain()  # the Kinesis consumer's batch, then the detection schedule's tick
            player.tick(d.at)
            caught_up = time.monotonic()
            printer.maybe_print()
    cfg = DetectionConfig.model_validate({})
    t = start + timedelta(seconds=scenario.duration_s)
    end = t + timedelta(seconds=cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1)
    step = max(SETTLE_STEP_SECONDS, speed / 10)  # at most ten scheduler ticks per wall second
    while t < end:
        t = min(end, t + timedelta(seconds=step))
        time.sleep(min(0.5, step / speed))
        player.tick(t)
        printer.maybe_print()
    player.wait_for_workflows()
    return printer.print_new()


def report(scenario: Scenario, incidents: list[dict], start: datetime, player: Player, out: TextIO) -> bool:
    """Print each incident's outcome; True when the biggest incident found the expected root cause."""
    print("\nIncidents:", file=out)
    for inc in incidents:
        rc = inc["root_cause"] or {}
        opened = parse_iso(inc["opened_at"]) if inc["opened_at"] else start
        print(f"  {inc['id']}  {inc['title']}\n"
              f"    {inc['alerts']} alerts ({inc['deliveries']} deliveries), opened {line_time(opened, start)}; "
              f"root cause {rc.get('category')} @ {rc.get('service')} (confidence {inc['confidence']}); "
              f"decision {inc['decision']}; MTTR so far {clock_text(inc['mttr_seconds'])}; cost so far "
              f"${inc['cost_so_far']:,.0f}", file=out)
        _, v = player.api("GET", f"/incidents/{inc['id']}/verify")
        print(f"    timeline hash chain: {'verified' if v['ok'] else 'BROKEN: ' + str(v['problem'])} "
              f"({v['events']} events)", file=out)
    main = max(incidents, key=lambda i: (i["alerts"], i["cost_so_far"]), default=None)
    got = (main or {}).get("root_cause") or {}
    right = (got.get("category"), got.get("service")) == (scenario.expected_category, scenario.expected_service)
    print(f"\n{scenario.name}: expected {scenario.expected_category} @ {scenario.expected_service}; "
          f"diagnosed {got.get('category')} @ {got.get('service')} -- {'RIGHT' if right else 'WRONG'}", file=out)
    return right


def run_demo(name: str, speed: float = 20.0, out: TextIO = sys.stdout) -> int:
    """Play one scenario, or `all` of them one after another on one local stack."""
    try:
        scenarios = list(SCENARIOS.values()) if name == "all" else [get_scenario(name)]
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print("Starting the embedded local stack (moto on 127.0.0.1, real ASL, real handlers)...", file=out)
    results: dict[str, bool] = {}
    with LocalStack() as stack:
        start = datetime.now(UTC).replace(microsecond=0)
        for scenario in scenarios:
            print(f"\nScenario {scenario.name}: {scenario.title} (complexity {scenario.complexity}, "
                  f"~${scenario.impact_per_minute:,.0f}/min at stake)", file=out)
            incidents = play(stack, scenario, start, speed, out)
            results[scenario.name] = report(scenario, incidents, start, Player(stack), out)
            start += timedelta(days=1)  # the next storm starts well clear of this one's windows
    if len(results) > 1:
        print(f"\n{sum(results.values())} of {len(results)} scenarios diagnosed as expected: "
              + ", ".join(f"{k} {'RIGHT' if v else 'WRONG'}" for k, v in results.items()), file=out)
    return 0


def line_time(at: datetime, start: datetime) -> str:
    s = int((at - start).total_seconds())
    return f"T+{s // 60:02d}:{s % 60:02d}"
