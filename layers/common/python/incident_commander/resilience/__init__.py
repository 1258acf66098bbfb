"""Resilience: circuit breakers, token-bucket rate limits and model routing, with state shared across
Lambda containers (DynamoDB conditional writes) so a failing dependency is not hammered by a hundred
of them at once."""

from .breaker import BreakerConfig, BreakerOpen, BreakerState, CircuitBreaker
from .ratelimit import RateLimited, TokenBucket
from .store import InMemoryStateStore, StaleState, StateStore

__all__ = ["BreakerConfig", "BreakerOpen", "BreakerState", "CircuitBreaker", "InMemoryStateStore", "RateLimited",
           "StaleState", "StateStore", "TokenBucket"]
