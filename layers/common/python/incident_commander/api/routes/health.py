"""GET /health: every component's status.

Each probe returns {"status": ok | degraded | error | not_configured, "detail": {...}}. Components
that live in other packages plug in through `Deps.extras`: an object under the key named in
`PLUGGED` with a `health() -> dict` method (the RAG memory, Bedrock model routing such as
`resilience.routing.ModelRouter`, circuit breakers), answering in that shape or with a plain
report (taken as ok); until one is there the component reports `not_configured`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ... import names as n
from ...adapters.resources import state_machine_status, stream_status, table_status
from ...runtime import Deps
from ..context import ApiContext, json_response
from ..roles import Role
from ..schemas import Health, errors, ok

SERVING = {"ACTIVE", "UPDATING"}
TABLE_ENV = {"events": n.ENV_EVENTS_TABLE, "incidents": n.ENV_INCIDENTS_TABLE, "control": n.ENV_CONTROL_TABLE,
             "detection": n.ENV_DETECTION_TABLE, "idempotency": n.ENV_IDEMPOTENCY_TABLE}
PLUGGED = {"memory": "memory", "bedrock_routing": "model_router", "circuit_breakers": "breakers"}


def _serving(detail: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok" if detail.get("state") in SERVING else "degraded", "detail": detail}


def tables(_deps: Deps) -> dict[str, Any]:
    found = {k: table_status(os.environ[v]) for k, v in TABLE_ENV.items() if os.environ.get(v)}
    if not found:
        return {"status": "not_configured", "detail": {}}
    return {"status": "ok" if all(t["state"] in SERVING for t in found.values()) else "degraded", "detail": found}


def stream(_deps: Deps) -> dict[str, Any]:
    name = os.environ.get(n.ENV_ALERT_STREAM)
    return _serving(stream_status(name)) if name else {"status": "not_configured", "detail": {}}


def state_machine(_deps: Deps) -> dict[str, Any]:
    arn = os.environ.get(n.ENV_STATE_MACHINE_ARN)
    return _serving(state_machine_status(arn)) if arn else {"status": "not_configured", "detail": {}}


def topology(deps: Deps) -> dict[str, Any]:
    topo = deps.topology()
    return {"status": "ok" if topo.services else "degraded",
            "detail": {"services": len(topo.services), "fingerprint": topo.fingerprint()}}


def plugged(key: str) -> Callable[[Deps], dict[str, Any]]:
    def probe(deps: Deps) -> dict[str, Any]:
        part = deps.extras.get(key)
        if part is None:
            return {"status": "not_configured", "detail": {}}
        report = part.health()
        return report if "status" in report else {"status": "ok", "detail": report}  # a plain report: it answered

    return probe


PROBES: dict[str, Callable[[Deps], dict[str, Any]]] = {
    "tables": tables, "stream": stream, "state_machine": state_machine, "topology": topology,
    **{name: plugged(key) for name, key in PLUGGED.items()},
}


def check(deps: Deps) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for name, probe in PROBES.items():
        try:
            components[name] = probe(deps)
        except Exception as exc:  # noqa: BLE001 - health reports any failure as the component's status
            components[name] = {"status": "error", "detail": {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}}
    healthy = all(c["status"] in ("ok", "not_configured") for c in components.values())
    return {"status": "ok" if healthy else "degraded", "components": components}


def register(ctx: ApiContext) -> None:
    @ctx.app.get("/health", summary="Every component's status (503 when one is failing)",
                 responses={**ok(Health, "Healthy or degraded"), **ok(Health, "A component is failing", 503),
                            **errors(401, 403, 429)})
    def health():
        ctx.require(Role.VIEWER)
        report = check(ctx.deps())
        failing = any(c["status"] == "error" for c in report["components"].values())
        return json_response(503 if failing else 200, report)
