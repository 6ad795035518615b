"""Audit administration endpoints."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import Provide

from spotcheck.gateway.audit.checkpoints import (
    ChainBrokenError,
    checkpoint_document,
    signing_key_for,
    take_checkpoint,
)
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.web.problems import ProblemError


class AuditController(Controller):
    """Audit administration: signed checkpoints on demand (they are also taken by CLI and periodically)."""

    path = "/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/checkpoints", summary="Sign a checkpoint of the audit chain now (admin)", status_code=201)
    async def checkpoint(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
        """Check the chain since the last checkpoint and sign its head; 409 names the first broken record."""
        principal.require_scope("admin")
        try:
            row = await take_checkpoint(session, signing_key_for(runtime.settings), actor=principal.actor)
        except ChainBrokenError as exc:
            raise ProblemError(409, "audit-chain-broken", str(exc)) from exc
        await session.commit()
        return checkpoint_document(row)
