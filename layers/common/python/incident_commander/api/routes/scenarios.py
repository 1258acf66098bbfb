"""Demo scenarios: GET /scenarios (catalogue and recent runs), POST /scenarios/{name} (play one).

Playing a scenario installs its topology and delivers its whole storm through the same ingestion
path as real webhooks, as recent history: the storm is rendered so that it ends now (compressed by
`speed`), every timestamp in every payload consistent with that. Detection, diagnosis and the rest
then run exactly as for real alerts. Admin only; off in prod (`IC_SCENARIOS_ENABLED`).
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from ... import names as n
from ...adapters.scenario_runs import ScenarioRunLog
from ...runtime import TOPOLOGY_TTL_SECONDS
from ...scenarios import SCENARIOS, Scenario
from ...timeutil import iso
from ...topology import Topology
from ..context import ApiContext, ApiError, json_response
from ..ingest import accept
from ..roles import Role
from ..schemas import ScenarioCatalog, ScenarioRequest, ScenarioRun, errors, ok

ScenarioName = Annotated[str, Path(min_length=1, max_length=100, description="e.g. database-cascade")]


def scenarios_enabled(environ: dict[str, str] | None = None) -> bool:
    """`IC_SCENARIOS_ENABLED` (true/false); unset: on everywhere but the prod stage."""
    env = os.environ if environ is None else environ
    flag = str(env.get(n.ENV_SCENARIOS_ENABLED, "")).strip().lower()
    if flag:
        return flag in ("1", "true", "yes", "on")
    return env.get(n.ENV_STAGE, "local") != "prod"


def describe(s: Scenario) -> dict:
    deliveries = s.render()
    return {"name": s.name, "title": s.title, "complexity": s.complexity, "impact_per_minute": s.impact_per_minute,
            "duration_seconds": s.duration_s, "deliveries": len(deliveries),
            "sources": sorted({d.source for d in deliveries}),
            "expected_root_cause": {"category": s.expected_category, "service": s.expected_service}}


def register(ctx: ApiContext) -> None:
    app = ctx.app

    def runs() -> ScenarioRunLog:
        return ScenarioRunLog(os.environ[n.ENV_CONTROL_TABLE])

    @app.get("/scenarios", summary="The demo scenarios, whether they may be played here, and recent runs",
             responses={**ok(ScenarioCatalog, "The catalogue"), **errors(401, 403, 429)})
    def list_scenarios():
        ctx.require(Role.VIEWER)
        return json_response(200, {"enabled": scenarios_enabled(), "runs": runs().recent(),
                                   "scenarios": [describe(s) for s in SCENARIOS.values()]})

    @app.post("/scenarios/<name>", summary="Play a demo scenario's alert storm (admin; disabled in prod)",
              responses={**ok(ScenarioRun, "The storm was delivered; incidents follow", 202),
                         **errors(400, 401, 403, 404, 409, 413, 429)})
    def play_scenario(name: ScenarioName, body: ScenarioRequest | None = None):
        who = ctx.require(Role.ADMIN).name
        if not scenarios_enabled():
            raise ApiError(403, f"demo scenarios are disabled in this deployment ({n.ENV_SCENARIOS_ENABLED})")
        scenario = SCENARIOS.get(name)
        if scenario is None:
            raise ApiError(404, f"unknown scenario {name!r}; available: {', '.join(sorted(SCENARIOS))}",
                           field="name")
        speed = (body or ScenarioRequest()).speed
        d = ctx.deps()
        topo = Topology.parse_yaml(scenario.topology_yaml, f"scenario {name}")
        if d.control.get_topology_yaml() != scenario.topology_yaml:
            d.control.put_topology_yaml(scenario.topology_yaml)
            ttl = float(os.environ.get("IC_TOPOLOGY_TTL_SECONDS", TOPOLOGY_TTL_SECONDS))
            if ttl > 0:  # agents cache the topology: a storm now would be read against the old one
                raise ApiError(409, f"installed the topology of {name}; the agents pick it up within {ttl:.0f}s "
                                    "- play the scenario again after that", retry_after_seconds=ttl)
        now = ctx.now()
        deliveries = scenario.render(now - timedelta(seconds=scenario.duration_s / speed), speed)
        writer = d.extras["stream_writer"]
        accepted = sum(accept(dl.source, dl.body, dl.at, writer, topo)["accepted"] for dl in deliveries)
        run = {"run_id": uuid.uuid4().hex[:12], "scenario": name, "by": who, "speed": speed,
               "recorded_at": iso(now), "started_at": iso(deliveries[0].at), "ended_at": iso(deliveries[-1].at),
               "deliveries": len(deliveries), "accepted_alerts": accepted,
               "expected_root_cause": {"category": scenario.expected_category, "service": scenario.expected_service}}
        runs().record(run)
        return json_response(202, run)
