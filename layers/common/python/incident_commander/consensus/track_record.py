"""Agent track records: accuracy on confirmed root causes (the weight) and recent outlier votes.

Weight = Laplace-smoothed accuracy (correct + 1) / (decided + 2): a new agent starts at 0.5 and no
single incident moves it far. An agent whose top choice disagreed with a supermajority of the
others in most of its recent decisions is a persistent outlier; its votes are excluded until it
agrees again often enough.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

RECENT = 20  # decisions kept for the outlier rule
OUTLIER_MIN_DECISIONS = 6
OUTLIER_RATE = 0.6


class AgentRecord(BaseModel):
    correct: float = 0.0  # confirmed root causes it got right (half credit: right service, wrong category)
    decided: int = 0  # confirmed root causes it voted on
    recent_outlier: list[bool] = Field(default_factory=list)
    scored: list[str] = Field(default_factory=list)  # incidents already counted (a redelivered event is a no-op)

    @property
    def weight(self) -> float:
        return (self.correct + 1.0) / (self.decided + 2.0)

    @property
    def persistent_outlier(self) -> bool:
        r = self.recent_outlier[-RECENT:]
        return len(r) >= OUTLIER_MIN_DECISIONS and sum(r) / len(r) >= OUTLIER_RATE


def hit(top_category: str | None, top_service: str | None, category: str | None, service: str | None) -> float:
    """1 when category and service match the confirmed root cause, 0.5 for the service alone."""
    same_service = bool(top_service and service and top_service.lower() == service.lower())
    same_category = bool(top_category and category and top_category == category)
    if service:
        return (0.5 + 0.5 * same_category) if same_service else 0.0
    return 1.0 if same_category else 0.0


def with_outcome(record: AgentRecord, score: float, incident_id: str) -> AgentRecord:
    if incident_id in record.scored:
        return record
    return record.model_copy(update={"correct": record.correct + score, "decided": record.decided + 1,
                                     "scored": (record.scored + [incident_id])[-RECENT * 10:]})


def learn_from_resolution(control: object, state: object) -> dict[str, float]:
    """Score every agent that voted on a resolved incident against the confirmed root cause.

    `state` is the incident projection (with `confirmed_root_cause` and `hypotheses` by agent);
    `control` stores the records (adapters.control.ControlStore). Returns agent -> score.
    """
    confirmed = getattr(state, "confirmed_root_cause", None)
    if not confirmed:
        return {}
    scores: dict[str, float] = {}
    for agent, hyps in getattr(state, "hypotheses", {}).items():
        top = hyps[0] if hyps else None
        score = hit(top.category.value if top else None, top.service if top else None,
                    confirmed.get("category"), confirmed.get("service"))
        scores[agent] = score
        control.update_agent_record(  # type: ignore[attr-defined]
            agent, lambda r, s=score, i=state.incident_id: with_outcome(r, s, i))  # type: ignore[attr-defined]
    return scores


def with_vote(record: AgentRecord, outlier: bool) -> AgentRecord:
    return record.model_copy(update={"recent_outlier": (record.recent_outlier + [outlier])[-RECENT:]})
