"""Weighted consensus over the diagnosers' votes, and the policy that turns it into a decision."""

from .engine import decide

__all__ = ["decide"]
