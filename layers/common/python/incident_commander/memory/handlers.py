"""The learning agent's logic: an EventBridge event in, a pattern written to memory out."""

from __future__ import annotations

from typing import Any

from ..models.events import EventType
from .learning import NotLearnable, learn

LEARN_ON = {EventType.RESOLVED.value}


class BadLearningEvent(ValueError):
    pass


def incident_id_of(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadLearningEvent("event has no 'detail' object")
    iid = detail.get("incident_id") or (detail.get("event") or {}).get("incident_id")
    if not isinstance(iid, str) or not iid:
        raise BadLearningEvent("detail.incident_id is missing")
    return iid


def learn_from_event(deps: Any, event: dict[str, Any], store: Any = None) -> dict[str, Any]:
    kind = event.get("detail-type")
    if kind not in LEARN_ON:
        return {"learned": False, "reason": f"ignored detail-type {kind!r}"}
    iid = incident_id_of(event)
    state = deps.events.get_state(iid)
    if state is None:
        raise BadLearningEvent(f"incident {iid} does not exist")
    if store is None:
        from ..memory.factory import store_for

        store = store_for(deps.settings.memory, deps.extras.get("resilience"))
    try:
        return {"learned": True, **learn(store, state)}
    except NotLearnable as exc:
        return {"learned": False, "reason": str(exc)}
