"""Audit administration endpoints."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Controller, post
from litestar.di import Provide

from spotcheck.gateway.audit.service import AuditService
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["AuditController"]


class AuditController(Controller):
    """Audit administration: a signed checkpoint of the log on demand (the sequencer also signs them as it runs)."""

    path = "/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post(
        "/checkpoints", summary="Integrate waiting leaves and sign a checkpoint of the log now (admin)", status_code=201
    )
    async def checkpoint(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
        """Run a sequencer round and answer the newest checkpoint; 409 when the stored tree is broken or busy."""
        head = await AuditService(session, runtime.settings).sign_checkpoint(principal)
        return {
            "tree_size": head.tree_size,
            "root_hash": base64.b64encode(head.root_hash).decode(),
            "note": head.note,
        }
