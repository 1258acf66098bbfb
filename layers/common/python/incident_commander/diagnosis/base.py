"""The diagnoser interface and the incident view every diagnoser reads (bounded, sampled)."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from ..models import Hypothesis
from ..models.incident import AlertView, IncidentState
from ..symptoms import Symptom, classify
from ..topology import Topology

MAX_ALERTS_CONSIDERED = 300
MAX_HYPOTHESES = 5


@dataclass(frozen=True)
class Observed:
    """One alert as a diagnoser sees it: its service and what it reports."""

    alert: AlertView
    symptom: Symptom
    service: str | None


@dataclass(frozen=True)
class DiagnosisInput:
    incident: IncidentState
    topology: Topology
    observed: tuple[Observed, ...]
    sampled: bool

    @classmethod
    def build(cls, incident: IncidentState, topology: Topology) -> DiagnosisInput:
        alerts = list(incident.alerts.values())
        sampled = len(alerts) > MAX_ALERTS_CONSIDERED
        if sampled:  # keep the most severe and earliest alerts; counts stay in the incident
            alerts.sort(key=lambda a: (-_sev(a.severity), a.starts_at or a.first_received_at))
            alerts = alerts[:MAX_ALERTS_CONSIDERED]
        obs = tuple(Observed(a, classify(a.name, f"{a.title}"), a.service) for a in alerts)
        return cls(incident, topology, obs, sampled)

    @property
    def services(self) -> list[str]:
        return sorted({o.service for o in self.observed if o.service})


def _sev(s: str) -> int:
    return {"critical": 4, "high": 3, "medium": 2, "low": 1}.get(s, 0)


class Diagnoser(abc.ABC):
    name: str

    @abc.abstractmethod
    def diagnose(self, inp: DiagnosisInput) -> list[Hypothesis]: ...


def ranked(hypotheses: list[Hypothesis], limit: int = MAX_HYPOTHESES) -> list[Hypothesis]:
    """Best first, one hypothesis per (category, service), at most `limit`: the shape consensus accepts."""
    seen: set[tuple] = set()
    out: list[Hypothesis] = []
    for h in sorted(hypotheses, key=lambda h: -h.confidence):
        key = (h.category, h.service)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out[:limit]


def get_diagnoser(name: str) -> Diagnoser:
    try:
        return DIAGNOSERS[name]()
    except KeyError:
        raise ValueError(f"unknown diagnoser {name!r}; known: {', '.join(sorted(DIAGNOSERS))}") from None


def _registry() -> dict[str, type[Diagnoser]]:
    from .llm import LlmDiagnoser
    from .memory import MemoryDiagnoser
    from .rules import RulesDiagnoser
    from .topology_walk import TopologyDiagnoser

    return {"rules": RulesDiagnoser, "topology": TopologyDiagnoser, "memory": MemoryDiagnoser, "llm": LlmDiagnoser}


DIAGNOSERS: dict[str, type[Diagnoser]] = _registry()
