"""`incident-commander demo [SCENARIO]`: play a scenario on the local stack and print the timeline."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from ..config import DetectionConfig
from ..scenarios import get_scenario
from ..timeutil import parse_iso
from .player import Player
from .render import line
from .stack import LocalStack


class TimelinePrinter:
    def __init__(self, player: Player, start: datetime, out=sys.stdout):
        self.player, self.start, self.out = player, start, out
        self.seen: dict[str, int] = {}

    def incidents(self) -> list[dict]:
        status, body = self.player.api("GET", "/incidents", query={"limit": "100"})
        return body["incidents"] if status == 200 else []

    def print_new(self) -> list[dict]:
        incidents = self.incidents()
        for inc in sorted(incidents, key=lambda i: i["opened_at"] or ""):
            if inc["version"] <= self.seen.get(inc["id"], 0):
                continue
            _, tl = self.player.api("GET", f"/incidents/{inc['id']}/timeline")
            for e in tl["events"]:
                if e["seq"] > self.seen.get(inc["id"], 0):
                    print(line(e, self.start, inc["id"]), file=self.out)
            self.seen[inc["id"]] = inc["version"]
            mttr = inc["mttr_seconds"] or 0
            print(f"           {inc['id'][-8:]}  status {inc['status']}; MTTR so far {int(mttr // 60):02d}:"
                  f"{int(mttr % 60):02d}; cost so far ${inc['cost_so_far']:,.0f} "
                  f"(${inc['cost_per_minute']:,.0f}/min)", file=self.out)
        self.out.flush()
        return incidents


def run_demo(name: str, speed: float = 20.0) -> int:
    try:
        scenario = get_scenario(name)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    start = datetime.now(UTC).replace(microsecond=0)
    print(f"Scenario {scenario.name}: {scenario.title} (complexity {scenario.complexity}, "
          f"~${scenario.impact_per_minute:,.0f}/min at stake)")
    print("Starting the embedded local stack (moto on 127.0.0.1, real ASL, real handlers)...")
    with LocalStack() as stack:
        stack.put_topology(scenario.topology_yaml)
        player = Player(stack)
        printer = TimelinePrinter(player, start)
        wall0 = time.monotonic()
        for at, source, body in scenario.at(start):
            delay = (at - start).total_seconds() / speed - (time.monotonic() - wall0)
            if delay > 0:
                time.sleep(delay)
            status, reply = player.deliver(source, body, at)
            if status >= 300:
                print(f"  delivery refused: {status} {reply}", file=sys.stderr)
            printer.print_new()
        cfg = DetectionConfig.model_validate({})
        t = start + timedelta(seconds=scenario.duration_s)
        end = t + timedelta(seconds=cfg.settle_max_seconds + cfg.settle_quiet_seconds + 1)
        while t < end:
            t += timedelta(seconds=15)
            time.sleep(min(0.5, 15 / speed))
            player.tick(t)
            printer.print_new()
        player.wait_for_workflows()
        incidents = printer.print_new()
        print("\nIncidents:")
        for inc in incidents:
            rc = inc["root_cause"] or {}
            opened = parse_iso(inc["opened_at"]) if inc["opened_at"] else start
            print(f"  {inc['id']}  {inc['title']}\n"
                  f"    {inc['alerts']} alerts ({inc['deliveries']} deliveries), opened {line_time(opened, start)}; "
                  f"root cause {rc.get('category')} @ {rc.get('service')} (confidence {inc['confidence']}); "
                  f"decision {inc['decision']}; MTTR so far {inc['mttr_seconds']:.0f}s; cost so far "
                  f"${inc['cost_so_far']:,.0f}")
            _, v = player.api("GET", f"/incidents/{inc['id']}/verify")
            print(f"    timeline hash chain: {'verified' if v['ok'] else 'BROKEN: ' + str(v['problem'])} "
                  f"({v['events']} events)")
    return 0


def line_time(at: datetime, start: datetime) -> str:
    s = int((at - start).total_seconds())
    return f"T+{s // 60:02d}:{s % 60:02d}"
