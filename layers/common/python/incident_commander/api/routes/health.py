"""GET /health: every component's status."""

from __future__ import annotations

from typing import Any

from ..context import ApiContext, json_response


def register(ctx: ApiContext) -> None:
    app = ctx.app

    @app.get("/health")
    def health():
        d = ctx.deps()
        components: dict[str, Any] = {}
        for name, probe in {"event_store": lambda: d.events.list_states(limit=1),
                            "state_machine": lambda: d.workflow.describe(),
                            "topology": lambda: len(d.topology().services)}.items():
            try:
                value = probe()
                components[name] = {"status": "ok", **({"services": value} if isinstance(value, int) else {})}
            except Exception as exc:  # noqa: BLE001 - health reports any failure as the component's status
                components[name] = {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        ok = all(c["status"] == "ok" for c in components.values())
        return json_response(200 if ok else 503, {"status": "ok" if ok else "degraded", "components": components})
