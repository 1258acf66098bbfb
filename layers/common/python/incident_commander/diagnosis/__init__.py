"""Independent diagnosers: each reads the incident and proposes ranked, evidence-backed hypotheses."""

from .base import DIAGNOSERS, Diagnoser, DiagnosisInput, get_diagnoser

__all__ = ["DIAGNOSERS", "Diagnoser", "DiagnosisInput", "get_diagnoser"]
