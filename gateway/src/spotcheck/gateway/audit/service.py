"""The audit capability as other code uses it: recording changes in the trail, and its signed checkpoints.

Every capability records what it changes with :func:`append_audit` or :func:`append_audit_many`, in its own
transaction, so a record commits or vanishes with the change it describes. The hash chain behind them is
:mod:`spotcheck.gateway.audit.chain`; the signing of its head is :mod:`spotcheck.gateway.audit.checkpoints`.
:class:`AuditService` holds the commands and queries of the API: a checkpoint signed on demand, and the
checkpoints the public site lists.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import AuditEntry, append_audit, append_audit_many
from spotcheck.gateway.audit.checkpoints import (
    CHECKPOINT_TYPE,
    ChainBrokenError,
    GatewaySigningKey,
    checkpoint_document,
    signing_key_for,
    take_checkpoint,
)
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.gateway.web.problems import ProblemError

__all__ = [
    "CHECKPOINT_TYPE",
    "AuditEntry",
    "AuditService",
    "GatewaySigningKey",
    "append_audit",
    "append_audit_many",
    "checkpoint_document",
    "signing_key_for",
]


class AuditService:
    """Signed checkpoints of the audit chain: taken on demand by an administrator, listed for the public."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def signing_key(self) -> GatewaySigningKey:
        """The gateway's key that signs the checkpoints (only its public half is ever shown)."""
        return signing_key_for(self.settings)

    async def sign_checkpoint(self, principal: Principal) -> Checkpoint:
        """Check the chain since the last checkpoint, sign its head, store and audit the checkpoint; commits.

        Raises:
            ProblemError: 403 without the ``admin`` scope; 409 ``audit-chain-broken`` naming the first broken
                record (nothing is signed).
        """
        principal.require_scope("admin")
        try:
            row = await take_checkpoint(self.session, self.signing_key, actor=principal.actor)
        except ChainBrokenError as exc:
            raise ProblemError(409, "audit-chain-broken", str(exc)) from exc
        await self.session.commit()
        return row

    async def recent_checkpoints(self, limit: int) -> list[Checkpoint]:
        """The newest ``limit`` checkpoints, newest first."""
        rows = await self.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit))
        return list(rows)
