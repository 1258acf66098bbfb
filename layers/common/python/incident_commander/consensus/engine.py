"""Weighted, Byzantine-tolerant consensus: screened votes -> one root cause, a confidence, a decision.

1. Screen every vote (`validate.py`); exclude failed, malformed, out-of-bounds, self-contradictory,
   fabricated and persistently-outlying ones, with the reason.
2. Weights: each agent's track record, normalised with no agent above `max_weight_share`.
3. Root cause: when one candidate holds a strict majority of the weight of top choices, it wins —
   so f faulty agents among n >= 3f+1 equally weighted ones cannot change it. Otherwise (a real
   conflict) every ranked hypothesis counts with rank decay, and evidence strength breaks ties.
4. Confidence: the weighted median of the agents' confidence in the winner (robust to a faulty
   minority). Agreement: the weight share whose top choice is the winner.
5. Policy: act only when confident (threshold per tier of the service acted on), allow-listed and
   agreed (>= 2/3 of the weight); monitor low-severity self-healing patterns; otherwise escalate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..config import ConsensusConfig
from ..models import Category, Decision, DecisionKind, Evidence, Hypothesis, WeightedVote
from .track_record import AgentRecord
from .validate import Screened, Universe, screen

RANK_DECAY = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05)
SUPERMAJORITY = 2.0 / 3.0
SELF_HEALING = {Category.TRAFFIC_SURGE, Category.RESOURCE_EXHAUSTION, Category.CAPACITY_OR_QUOTA}
LOW_SEVERITIES = {"info", "low", "medium"}
DEFAULT_WEIGHT = 0.5

Key = tuple[Category, str | None]


@dataclass(frozen=True)
class Ballot:
    """One agent's raw vote as recorded (hypothesis dicts or models), or the error it failed with."""

    agent: str
    hypotheses: Any = None
    error: str | None = None


def capped_weights(raw: dict[str, float], max_share: float) -> dict[str, float]:
    """Normalise to sum 1 with no agent above `max_share` (relaxed to 1/n when fewer agents)."""
    if not raw:
        return {}
    cap = max(max_share, 1.0 / len(raw))
    total = sum(max(1e-9, w) for w in raw.values())
    out = {a: max(1e-9, w) / total for a, w in raw.items()}
    for _ in range(len(out)):
        over = {a for a, w in out.items() if w > cap + 1e-12}
        if not over:
            break
        excess = sum(out[a] - cap for a in over)
        for a in over:
            out[a] = cap
        under = {a: w for a, w in out.items() if a not in over and w < cap}
        if not under:
            break
        t = sum(under.values())
        for a, w in under.items():
            out[a] = w + excess * w / t
    return out


def weighted_median(pairs: Iterable[tuple[float, float]]) -> float:
    """Median of values weighted by weights: the smallest value holding half the weight below it."""
    items = sorted((v, w) for v, w in pairs if w > 0)
    if not items:
        return 0.0
    half = sum(w for _, w in items) / 2.0
    acc = 0.0
    for v, w in items:
        acc += w
        if acc >= half - 1e-12:
            return v
    return items[-1][0]


def _key(h: Hypothesis) -> Key:
    return (h.category, h.service)


def _evidence_strength(h: Hypothesis) -> float:
    return sum(e.weight for e in h.evidence if e.supports) - sum(e.weight for e in h.evidence if not e.supports)


def decide(ballots: list[Ballot], cfg: ConsensusConfig, universe: Universe,
           records: dict[str, AgentRecord] | None = None, tier: str | None = None, severity: str = "medium",
           resolved_ratio: float = 0.0, tiers: dict[str, str] | None = None) -> Decision:
    """`tier` is the incident's tier; `tiers` (service -> tier) lets the root cause's own tier set the
    bar for acting on it — restarting a low-tier service needs less certainty than a critical one."""
    records = records or {}
    screened: list[Screened] = []
    for b in ballots:
        s = screen(b.agent, b.hypotheses, universe, b.error)
        rec = records.get(b.agent)
        if s.excluded is None and rec is not None and rec.persistent_outlier:
            s = Screened(b.agent, (), "persistent outlier: went against a supermajority in most recent decisions",
                         "outlier")
        screened.append(s)
    healthy = [s for s in screened if s.excluded is None]
    w = capped_weights({s.agent: records[s.agent].weight if s.agent in records else DEFAULT_WEIGHT for s in healthy},
                       cfg.max_weight_share)

    def votes(winner: Key | None, supermajority: bool) -> list[WeightedVote]:
        out = []
        for s in screened:
            top = s.hypotheses[0] if s.hypotheses else None
            outlier = bool(top and winner and supermajority and _key(top) != winner)
            out.append(WeightedVote(agent=s.agent, weight=round(w.get(s.agent, 0.0), 4),
                                    category=top.category if top else None, service=top.service if top else None,
                                    confidence=top.confidence if top else 0.0, excluded=s.excluded,
                                    fault=s.fault or ("outlier" if outlier else None), outlier=outlier))
        return out

    if len(healthy) < cfg.quorum:
        return Decision(kind=DecisionKind.ESCALATE, confidence=0.0, votes=votes(None, False),
                        reason=f"below quorum: {len(healthy)} healthy vote(s), {cfg.quorum} needed")

    # --- root cause ------------------------------------------------------------------------------
    top_weight: dict[Key, float] = defaultdict(float)
    ranked_score: dict[Key, float] = defaultdict(float)
    strength: dict[Key, float] = defaultdict(float)
    for s in healthy:
        top_weight[_key(s.hypotheses[0])] += w[s.agent]
        for rank, h in enumerate(s.hypotheses):
            ranked_score[_key(h)] += w[s.agent] * h.confidence * RANK_DECAY[rank]
            strength[_key(h)] += w[s.agent] * _evidence_strength(h)
    majority = [k for k, tw in top_weight.items() if tw > 0.5 + 1e-9]

    def order(k: Key) -> tuple:
        return (-ranked_score[k], -strength[k], k[0].value, k[1] or "")

    if majority:
        winner = majority[0]
        how = "a majority of the vote weight chose it"
    else:
        winner = min(ranked_score, key=order)
        how = "no majority: ranked hypotheses and evidence strength decided"
    ranked_keys = [winner] + sorted((k for k in ranked_score if k != winner), key=order)
    total = sum(ranked_score.values()) or 1.0
    runner = ranked_score[ranked_keys[1]] if len(ranked_keys) > 1 else 0.0
    margin = round(max(0.0, ranked_score[winner] - runner) / total, 4)

    # --- confidence and agreement -------------------------------------------------------------
    def confidence_in(s: Screened, k: Key) -> float:
        for h in s.hypotheses:
            if _key(h) == k:
                return h.confidence
        return 0.0

    confidence = round(weighted_median((confidence_in(s, winner), w[s.agent]) for s in healthy), 4)
    agreement = round(sum(w[s.agent] for s in healthy if _key(s.hypotheses[0]) == winner), 4)
    supermajority = agreement >= SUPERMAJORITY - 1e-9

    # --- the root cause as one hypothesis: merged evidence, the best-supported action -----------
    backers = [(w[s.agent], h) for s in healthy for h in s.hypotheses if _key(h) == winner]
    backers.sort(key=lambda t: (-t[0], -t[1].confidence))
    evidence: list[Evidence] = []
    seen_ev: set[tuple[str, str]] = set()
    for _, h in backers:
        for e in h.evidence:
            if (e.kind, e.ref) not in seen_ev and len(evidence) < 30:
                seen_ev.add((e.kind, e.ref))
                evidence.append(e)
    action_votes: dict[str | None, float] = defaultdict(float)
    for weight, h in backers:
        action_votes[h.action] += weight
    action = max(action_votes, key=lambda a: (action_votes[a], a or "")) if action_votes else None
    path = max((h.causal_path for _, h in backers), key=len, default=[])
    summary = backers[0][1].summary if backers else ""
    root = Hypothesis(category=winner[0], service=winner[1], confidence=confidence, summary=summary,
                      evidence=evidence, causal_path=path, action=action)
    ranked = [root] + [Hypothesis(category=k[0], service=k[1], confidence=round(min(1.0, ranked_score[k] / total), 4))
                       for k in ranked_keys[1:5]]

    # --- policy ---------------------------------------------------------------------------------
    target_tier = (tiers or {}).get(winner[1] or "", tier)
    threshold = max(cfg.auto_threshold, cfg.tier_thresholds.get(target_tier or "", 0.0))
    base = f"{how}; agreement {agreement:.2f}, margin {margin:.2f}"
    if confidence >= threshold and supermajority and action in cfg.allowed_actions:
        kind = DecisionKind.AUTO_REMEDIATE
        reason = f"confidence {confidence:.2f} >= {threshold:.2f}, action {action} is allow-listed; {base}"
    elif severity != "critical" and resolved_ratio >= 1.0:
        kind, reason = DecisionKind.MONITOR, f"every alert has already resolved; watching for a recurrence; {base}"
    elif (severity in LOW_SEVERITIES and winner[0] in SELF_HEALING and confidence >= cfg.monitor_threshold
          and supermajority):
        kind = DecisionKind.MONITOR
        reason = f"{severity} severity {winner[0].value} usually recovers on its own; {base}"
    else:
        why = []
        if confidence < threshold:
            why.append(f"confidence {confidence:.2f} < {threshold:.2f}")
        if not supermajority:
            why.append(f"agreement {agreement:.2f} below two thirds")
        if action not in cfg.allowed_actions:
            why.append(f"no allow-listed action for {winner[0].value}" if action is None
                       else f"action {action} is not allow-listed")
        kind, reason = DecisionKind.ESCALATE, "; ".join(why) + f"; {base}"
    return Decision(kind=kind, confidence=confidence, root_cause=root, ranked=ranked, margin=margin,
                    agreement=agreement, reason=reason,
                    action=action if kind == DecisionKind.AUTO_REMEDIATE else None,
                    votes=votes(winner, supermajority))
