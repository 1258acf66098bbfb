"""Weighted voting: agents' ranked hypotheses -> one root cause, a confidence, a margin, a decision.

Each agent's weight is its track record, capped so no single agent can dictate. Hypotheses are
scored per (category, service) with rank decay; an agent's vote counts only when well-formed.
The policy then acts only when confident, allow-listed and agreed; otherwise monitors or escalates.
"""

from __future__ import annotations

from collections import defaultdict

from ..config import ConsensusConfig
from ..models import Decision, DecisionKind, Hypothesis, Vote, WeightedVote

RANK_DECAY = (1.0, 0.5, 0.3, 0.2, 0.1)


def _problems(vote: Vote) -> str | None:
    if vote.error:
        return f"agent failed: {vote.error[:200]}"
    if not vote.hypotheses:
        return "no hypotheses"
    return None


def capped_weights(weights: dict[str, float], agents: list[str], max_share: float) -> dict[str, float]:
    """Normalise agent weights to sum 1 with no agent above `max_share` (when more than one agent)."""
    raw = {a: max(1e-6, weights.get(a, 1.0)) for a in agents}
    if not raw:
        return {}
    cap = max(max_share, 1.0 / len(raw))
    out = {a: w / sum(raw.values()) for a, w in raw.items()}
    for _ in range(len(out)):
        over = {a for a, w in out.items() if w > cap + 1e-12}
        if not over:
            break
        excess = sum(out[a] - cap for a in over)
        under = {a: w for a, w in out.items() if a not in over}
        for a in over:
            out[a] = cap
        if not under:
            break
        total_under = sum(under.values())
        for a, w in under.items():
            out[a] = w + excess * w / total_under
    return out


def decide(votes: list[Vote], cfg: ConsensusConfig, weights: dict[str, float] | None = None,
           tier: str | None = None, severity: str = "medium") -> Decision:
    weighted: list[WeightedVote] = []
    healthy = [v for v in votes if _problems(v) is None]
    w = capped_weights(weights or {}, [v.agent for v in healthy], cfg.max_weight_share)
    for v in votes:
        problem = _problems(v)
        top = v.hypotheses[0] if v.hypotheses else None
        weighted.append(WeightedVote(agent=v.agent, weight=round(w.get(v.agent, 0.0), 4),
                                     category=top.category if top else None, service=top.service if top else None,
                                     confidence=top.confidence if top else 0.0, excluded=problem))
    if len(healthy) < cfg.quorum:
        return Decision(kind=DecisionKind.ESCALATE, confidence=0.0, votes=weighted,
                        reason=f"below quorum: {len(healthy)} healthy vote(s), {cfg.quorum} needed")

    score: dict[tuple, float] = defaultdict(float)
    service_score: dict[str | None, float] = defaultdict(float)
    best_h: dict[tuple, Hypothesis] = {}
    for v in healthy:
        for rank, h in enumerate(v.hypotheses[:len(RANK_DECAY)]):
            key = (h.category, h.service)
            s = w[v.agent] * h.confidence * RANK_DECAY[rank]
            score[key] += s
            service_score[h.service] += s
            if key not in best_h or h.confidence > best_h[key].confidence:
                best_h[key] = h
    # combine: the joint (category, service) score plus half the support its service gets in general
    combined = {k: s + 0.5 * service_score[k[1]] for k, s in score.items()}
    ranked_keys = sorted(combined, key=lambda k: (-combined[k], k[0].value, k[1] or ""))
    top_key = ranked_keys[0]
    runner = combined[ranked_keys[1]] if len(ranked_keys) > 1 else 0.0
    total = sum(combined.values()) or 1.0
    margin = round((combined[top_key] - runner) / total, 4)
    agreeing = [v for v in healthy if (v.hypotheses[0].category, v.hypotheses[0].service) == top_key]
    service_agreeing = [v for v in healthy if v.hypotheses[0].service == top_key[1]]
    support = sum(w[v.agent] * v.hypotheses[0].confidence for v in agreeing)
    service_support = sum(w[v.agent] * v.hypotheses[0].confidence for v in service_agreeing)
    confidence = round(min(1.0, 0.6 * support + 0.25 * service_support + 0.15 * margin), 4)
    root = best_h[top_key].model_copy(update={"confidence": confidence})
    ranked = [best_h[k].model_copy(update={"confidence": round(min(1.0, combined[k] / total), 4)})
              for k in ranked_keys[:5]]
    ranked[0] = root

    threshold = max(cfg.auto_threshold, cfg.tier_thresholds.get(tier or "", 0.0))
    unanimous = len(agreeing) == len(healthy)
    action = root.action
    if confidence >= threshold and unanimous and action in cfg.allowed_actions:
        kind, reason = DecisionKind.AUTO_REMEDIATE, (
            f"confidence {confidence:.2f} >= {threshold:.2f}, all {len(healthy)} agents agree, "
            f"action {action} is allow-listed")
    elif confidence >= cfg.monitor_threshold and severity in ("low", "info", "medium") and unanimous \
            and root.category.value in ("traffic_surge", "resource_exhaustion"):
        kind, reason = DecisionKind.MONITOR, (
            f"confidence {confidence:.2f}, {severity} severity and a pattern that often recovers on its own")
    else:
        why = []
        if confidence < threshold:
            why.append(f"confidence {confidence:.2f} < {threshold:.2f}")
        if not unanimous:
            why.append(f"{len(healthy) - len(agreeing)} of {len(healthy)} agents disagree")
        if action not in cfg.allowed_actions:
            why.append(f"no allow-listed action for {root.category.value}" if action is None
                       else f"action {action} is not allow-listed")
        kind, reason = DecisionKind.ESCALATE, "; ".join(why) or "policy requires a human"
    return Decision(kind=kind, confidence=confidence, root_cause=root, ranked=ranked, margin=margin,
                    reason=reason, action=action if kind == DecisionKind.AUTO_REMEDIATE else None, votes=weighted)
