"""The service catalogue: names, aliases, tiers, business value and the dependency graph."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import cached_property
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

Tier = Literal["critical", "high", "medium", "low"]
TIER_WEIGHT: dict[str, float] = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25}
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")


class TopologyError(ValueError):
    """A topology file that cannot be used; the message names the file and the problem."""


class Service(BaseModel):
    tier: Tier = "medium"
    revenue_per_minute: float = Field(0.0, ge=0)
    users: int = Field(0, ge=0)
    depends_on: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    kind: str | None = None  # optional: database, cache, queue, gateway, external, ...

    @field_validator("depends_on", "aliases", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return [] if v is None else v


class Topology(BaseModel):
    services: dict[str, Service] = Field(default_factory=dict)

    @classmethod
    def parse_yaml(cls, text: str, origin: str = "topology.yaml") -> Topology:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{origin}:{mark.line + 1}" if mark else origin
            raise TopologyError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from exc
        if not isinstance(doc, dict):
            raise TopologyError(f"{origin}:1: expected a mapping with a 'services' key")
        try:
            topo = cls.model_validate({"services": doc.get("services") or {}})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise TopologyError(f"{origin}: services.{'.'.join(map(str, err['loc'][1:]))}: {err['msg']}") from exc
        unknown = sorted({d for s in topo.services.values() for d in s.depends_on} - set(topo.services))
        if unknown:
            raise TopologyError(f"{origin}: depends_on names unknown services: {', '.join(unknown)}")
        return topo

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:16]

    # --- name resolution -----------------------------------------------------------------------
    @cached_property
    def _names(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self.services:
            out[name.lower()] = name
        for name, svc in self.services.items():
            for alias in svc.aliases:
                out.setdefault(alias.lower(), name)
        return out

    @cached_property
    def _token_names(self) -> list[tuple[tuple[str, ...], str]]:
        """Service names and aliases as token sequences, longest first (for names embedded in others)."""
        seqs = {(tuple(t for t in _TOKEN_SPLIT.split(k) if t), v) for k, v in self._names.items()}
        return sorted((s for s in seqs if s[0]), key=lambda s: (-len(s[0]), s[1]))

    def resolve(self, value: str | None) -> str | None:
        """The topology service a label value names, by exact name or alias (case-insensitive)."""
        if not value:
            return None
        return self._names.get(value.strip().lower())

    def resolve_embedded(self, value: str | None) -> str | None:
        """A service named inside a longer identifier (a pod, ARN or experiment name), whole tokens only.

        `orders-db-7f9c` and `arn:aws:rds:...:db:orders-db` name `orders-db`; the longest match wins.
        """
        if not value:
            return None
        tokens = tuple(t for t in _TOKEN_SPLIT.split(value.lower()) if t)
        for seq, name in self._token_names:
            k = len(seq)
            for i in range(len(tokens) - k + 1):
                if tokens[i:i + k] == seq:
                    return name
        return None

    def resolve_hints(self, hints: Iterable[str]) -> tuple[str | None, str | None]:
        """(service, the hint that named it): exact names first, then names embedded in identifiers."""
        hints = [h for h in hints if h]
        for h in hints:
            if (svc := self.resolve(h)) is not None:
                return svc, h
        for h in hints:
            if (svc := self.resolve_embedded(h)) is not None:
                return svc, h
        return None, (hints[0] if hints else None)

    # --- graph ---------------------------------------------------------------------------------
    @cached_property
    def _closure(self) -> dict[str, frozenset[str]]:
        """service -> itself and everything it depends on, transitively."""
        out: dict[str, frozenset[str]] = {}

        def visit(name: str, stack: frozenset[str]) -> frozenset[str]:
            if name in out:
                return out[name]
            acc = {name}
            for dep in self.services[name].depends_on:
                if dep not in stack:
                    acc |= visit(dep, stack | {dep})
            out[name] = frozenset(acc)
            return out[name]

        for name in self.services:
            visit(name, frozenset({name}))
        return out

    @cached_property
    def _dependents(self) -> dict[str, frozenset[str]]:
        """service -> itself and every service that depends on it, transitively."""
        rev: dict[str, set[str]] = {s: {s} for s in self.services}
        for s, deps in self._closure.items():
            for d in deps:
                rev[d].add(s)
        return {k: frozenset(v) for k, v in rev.items()}

    def closure(self, service: str) -> frozenset[str]:
        return self._closure.get(service, frozenset({service}))

    def dependents(self, service: str) -> frozenset[str]:
        return self._dependents.get(service, frozenset({service}))

    def reach(self, service: str, starved: bool = False) -> frozenset[str]:
        """Services whose failure could explain an alert on `service`.

        Usually what it depends on (itself included); for a starved service (nothing arrives) also
        its callers and everything they depend on, since a broken caller sends it nothing.
        """
        if not starved:
            return self.closure(service)
        key = f"starved:{service}"
        cached = self._reach_cache.get(key)
        if cached is None:
            acc: set[str] = set()
            for caller in self.dependents(service):
                acc |= self.closure(caller)
            cached = self._reach_cache[key] = frozenset(acc)
        return cached

    @cached_property
    def _reach_cache(self) -> dict[str, frozenset[str]]:
        return {}

    def depth(self, service: str) -> int:
        """How far down the dependency graph a service sits (leaves are deepest)."""
        return len(self.dependents(service))

    def path(self, start: str, goal: str) -> list[str]:
        """A shortest dependency path start -> ... -> goal, or [] when goal is not below start."""
        if start == goal:
            return [start]
        if start not in self.services:
            return []
        prev: dict[str, str] = {}
        frontier = [start]
        seen = {start}
        while frontier:
            nxt = []
            for s in frontier:
                for d in self.services[s].depends_on:
                    if d in seen:
                        continue
                    seen.add(d)
                    prev[d] = s
                    if d == goal:
                        out = [d]
                        while out[-1] != start:
                            out.append(prev[out[-1]])
                        return out[::-1]
                    nxt.append(d)
            frontier = nxt
        return []

    @cached_property
    def _components(self) -> dict[str, str]:
        """service -> the name of its weakly connected component (its alphabetically first member)."""
        parent = {s: s for s in self.services}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for s, spec in self.services.items():
            for d in spec.depends_on:
                a, b = find(s), find(d)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        return {s: find(s) for s in self.services}

    def component(self, service: str) -> str | None:
        """Services that can share a root cause live in one component; alerts correlate within it."""
        return self._components.get(service)

    def tier_weight(self, service: str | None) -> float:
        svc = self.services.get(service or "")
        return TIER_WEIGHT[svc.tier] if svc else TIER_WEIGHT["medium"]
