"""Demo scenarios: a topology plus a timed alert storm in the sources' real formats.

Each storm is deterministic, so tests can assert on its outcome; storms mix formats and include
repeats, flapping and unrelated noise, as real ones do.
"""

from __future__ import annotations

from .base import Delivery, Scenario, Storm
from .catalog import SCENARIOS, get_scenario

__all__ = ["SCENARIOS", "Delivery", "Scenario", "Storm", "get_scenario"]
