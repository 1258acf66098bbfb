"""Who is calling the API and what they may do: viewer < responder < admin.

In AWS, API Gateway authenticates before the function runs: a Cognito user pool authorizer puts the
ID token's claims in `requestContext.authorizer.claims` (every value a string), and IAM (SigV4)
puts the caller's ARN in `requestContext.identity`. This module only maps those onto roles:
Cognito groups name roles (`IC_AUTH_GROUP_ROLES`), IAM callers get `IC_AUTH_IAM_ROLE`.
`IC_AUTH_MODE=local` (the embedded local stack) trusts everyone: callers name themselves with
`X-IC-User` and may lower their role with `X-IC-Role` (default `IC_AUTH_LOCAL_ROLE`).
Webhook authentication of `POST /alerts/{source}` is separate (`api/auth.py`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..config import load_section

RoleName = Literal["viewer", "responder", "admin"]


class Role(IntEnum):
    VIEWER = 1  # reads incidents, timelines, health
    RESPONDER = 2  # also approves / rejects / reassigns escalations and resolves incidents
    ADMIN = 3  # also plays demo scenarios (which replace the topology)

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        return cls[name.upper()]


class AuthConfig(BaseModel):
    """`IC_AUTH_*` variables."""

    mode: Literal["aws", "local"] = Field("aws", description="aws: trust API Gateway's authorizers; local: trust callers")
    group_roles: dict[str, RoleName] = Field(
        default_factory=lambda: {"viewer": "viewer", "responder": "responder", "admin": "admin"},
        description="Cognito group -> role; a user in several groups gets the highest")
    iam_role: RoleName = Field("responder", description="role of machine callers authenticated by IAM (SigV4)")
    local_role: RoleName = Field("admin", description="role of callers in local mode without X-IC-Role")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthConfig:
        return load_section(cls, "IC_AUTH_", os.environ if environ is None else environ)


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: Literal["cognito", "iam", "local"]

    def view(self, mode: str) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.label, "via": self.via, "auth_mode": mode,
                "may": [r.label for r in Role if r <= self.role]}


class AuthError(Exception):
    """401 (nobody authenticated) or 403 (authenticated, role too low)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def groups_of(claims: Mapping[str, Any]) -> list[str]:
    """`cognito:groups` as API Gateway passes it: "a,b", "[a b]", a JSON-ish list, or one name."""
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        return [str(g) for g in raw]
    text = str(raw or "").strip().strip("[]")
    return [g for g in text.replace(",", " ").split() if g]


def authenticate(event: Mapping[str, Any], cfg: AuthConfig) -> Principal:
    """The caller of an API Gateway REST proxy event; AuthError(401) when there is none."""
    ctx = event.get("requestContext") or {}
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    if cfg.mode == "local":
        wanted = str(headers.get("x-ic-role") or cfg.local_role).lower()
        if wanted not in {r.label for r in Role}:
            raise AuthError(400, f"X-IC-Role: expected one of viewer, responder, admin, not {wanted[:40]!r}")
        role = min(Role.named(wanted), Role.named(cfg.local_role))
        return Principal(str(headers.get("x-ic-user") or "local-user")[:128], role, "local")
    claims = (ctx.get("authorizer") or {}).get("claims") or {}
    if claims:
        roles = [Role.named(cfg.group_roles[g]) for g in groups_of(claims) if g in cfg.group_roles]
        name = claims.get("email") or claims.get("cognito:username") or claims.get("sub") or "unknown-user"
        if not roles:
            raise AuthError(403, f"user {name} is in no group that grants a role "
                                 f"({', '.join(sorted(cfg.group_roles))})")
        return Principal(str(name), max(roles), "cognito")
    arn = (ctx.get("identity") or {}).get("userArn")
    if arn:
        return Principal(str(arn), Role.named(cfg.iam_role), "iam")
    raise AuthError(401, "not authenticated: send a Cognito ID token (Authorization header) or sign with SigV4")


def require(principal: Principal, role: Role) -> Principal:
    if principal.role < role:
        raise AuthError(403, f"{principal.name} is a {principal.role.label}; this needs the {role.label} role")
    return principal
