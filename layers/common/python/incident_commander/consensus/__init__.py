"""Weighted, Byzantine-tolerant consensus over the diagnosers' votes, and the decision policy."""

from .engine import Ballot, decide
from .track_record import AgentRecord
from .validate import Universe

__all__ = ["AgentRecord", "Ballot", "Universe", "decide"]
