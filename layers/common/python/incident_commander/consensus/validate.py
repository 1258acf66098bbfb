"""Byzantine screening of votes: a vote is counted only if it is well-formed, in bounds, consistent
with itself, and cites evidence that exists in the incident.

A faulty agent (a bug, a corrupted model output, a compromised dependency) can say anything; these
checks turn what can be detected into an exclusion with a reason instead of a silent influence.
Persistent outliers are excluded from their track record (see `track_record.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..models import Hypothesis

MAX_HYPOTHESES = 10
EVIDENCE_KINDS_WITH_ALERT_REFS = {"alert"}
EVIDENCE_KINDS_WITH_SERVICE_REFS = {"topology", "service"}


@dataclass(frozen=True)
class Universe:
    """What exists in the incident: evidence may only point at these."""

    alert_keys: frozenset[str]
    services: frozenset[str]  # topology services plus services named by the incident's alerts

    @classmethod
    def of(cls, alert_keys: Iterable[str], services: Iterable[str]) -> Universe:
        return cls(frozenset(alert_keys), frozenset(services))


@dataclass(frozen=True)
class Screened:
    agent: str
    hypotheses: tuple[Hypothesis, ...]  # empty when excluded
    excluded: str | None = None  # reason
    fault: str | None = None  # malformed | out_of_bounds | self_contradictory | fabricated_evidence | failed


def screen(agent: str, raw: Any, universe: Universe, error: str | None = None) -> Screened:
    """Validate one agent's raw vote (a list of hypothesis dicts, or models)."""
    if error:
        return Screened(agent, (), f"agent failed: {error[:200]}", "failed")
    if not isinstance(raw, (list, tuple)):
        return Screened(agent, (), "malformed: hypotheses are not a list", "malformed")
    if not raw:
        return Screened(agent, (), "no hypotheses", "malformed")
    if len(raw) > MAX_HYPOTHESES:
        return Screened(agent, (), f"malformed: {len(raw)} hypotheses (at most {MAX_HYPOTHESES})", "malformed")
    hyps: list[Hypothesis] = []
    for i, h in enumerate(raw):
        if isinstance(h, Hypothesis):
            h = h.model_dump()
        if not isinstance(h, dict):
            return Screened(agent, (), f"malformed: hypothesis {i} is not an object", "malformed")
        conf = h.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0.0 <= float(conf) <= 1.0:
            return Screened(agent, (), f"out of bounds: hypothesis {i} confidence {conf!r}", "out_of_bounds")
        try:
            hyps.append(Hypothesis.model_validate(h))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            return Screened(agent, (), f"malformed: hypothesis {i} {where}: {first['msg']}", "malformed")
    seen: dict[tuple, float] = {}
    for i, h in enumerate(hyps):
        key = (h.category, h.service)
        if key in seen:
            return Screened(agent, (), f"self-contradictory: {h.category.value}@{h.service} proposed twice",
                            "self_contradictory")
        seen[key] = h.confidence
        if i and h.confidence > hyps[i - 1].confidence + 1e-9:
            return Screened(agent, (), f"self-contradictory: hypothesis {i} ranked below a less confident one",
                            "self_contradictory")
    services = {h.service for h in hyps if h.service}
    if services - universe.services:
        bad = sorted(services - universe.services)[0]
        return Screened(agent, (), f"fabricated evidence: service {bad!r} is not in the topology or the incident",
                        "fabricated_evidence")
    for h in hyps:
        for e in h.evidence:
            if e.kind in EVIDENCE_KINDS_WITH_ALERT_REFS and e.ref not in universe.alert_keys:
                return Screened(agent, (), f"fabricated evidence: alert {e.ref[:40]!r} is not in the incident",
                                "fabricated_evidence")
            if e.kind in EVIDENCE_KINDS_WITH_SERVICE_REFS and e.ref not in universe.services:
                return Screened(agent, (), f"fabricated evidence: service {e.ref[:40]!r} is unknown",
                                "fabricated_evidence")
    return Screened(agent, tuple(hyps))
