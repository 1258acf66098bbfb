"""Pydantic models of the domain: alerts, incident events, hypotheses, votes and decisions."""

from .alert import Alert, AlertStatus, Severity
from .diagnosis import Category, Decision, DecisionKind, Evidence, Hypothesis, Vote, WeightedVote

__all__ = ["Alert", "AlertStatus", "Severity", "Category", "Decision", "DecisionKind", "Evidence",
           "Hypothesis", "Vote", "WeightedVote"]
