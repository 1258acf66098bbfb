"""GET /me: who the API thinks the caller is, and their role (the dashboard shows buttons by it)."""

from __future__ import annotations

from ..context import ApiContext, json_response
from ..roles import Role
from ..schemas import Me, errors, ok


def register(ctx: ApiContext) -> None:
    @ctx.app.get("/me", summary="The caller and their role",
                 responses={**ok(Me, "The caller"), **errors(400, 401, 403, 429)})
    def me():
        principal = ctx.require(Role.VIEWER)
        return json_response(200, principal.view(ctx.auth_config().mode))
