"""Audit administration endpoints."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import Provide

from spotcheck.gateway.audit.service import AuditService, checkpoint_document
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["AuditController"]


class AuditController(Controller):
    """Audit administration: signed checkpoints on demand (they are also taken by CLI and periodically)."""

    path = "/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/checkpoints", summary="Sign a checkpoint of the audit chain now (admin)", status_code=201)
    async def checkpoint(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
        """Check the chain since the last checkpoint and sign its head; 409 names the first broken record."""
        row = await AuditService(session, runtime.settings).sign_checkpoint(principal)
        return checkpoint_document(row)
