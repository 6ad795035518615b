"""The audit capability as other code uses it: recording events and messages in the log, and reading the log.

Every capability records what it changes with :func:`append_audit` or :func:`append_audit_many`, in its own
transaction, so a record commits or vanishes with the change it describes; a message sent or received is also
recorded as its own leaf (:func:`message_entry`), whose hash a platform can compute from the message. Appending
takes no lock and reads nothing: the :class:`~spotcheck.gateway.audit.sequencer.Sequencer` integrates the records
into the Merkle tree later and signs its checkpoints. :class:`AuditService` holds the commands and queries of the
API; :class:`LogService` the public log's reads; :func:`verify_audit` and :func:`sequence_now` the CLI's commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import AuditEntry, append_audit, append_audit_many, message_entry
from spotcheck.gateway.audit.checkpoints import (
    CHECKPOINT_TYPE,
    GatewaySigningKey,
    checkpoint_document,
    signing_key_for,
)
from spotcheck.gateway.audit.leaves import message_leaf_hash
from spotcheck.gateway.audit.sequencer import LogCorruptedError, LogSigner, Sequencer, latest_tree_head
from spotcheck.gateway.audit.tree import MissingNodeError, consistency_from_store, inclusion_from_store
from spotcheck.gateway.audit.verify import AuditReport, audit_report
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_log import LogNode, SignedTreeHead
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.gateway.web.problems import ProblemError, field_error

__all__ = [
    "CHECKPOINT_TYPE",
    "MAX_LEAVES_PER_CALL",
    "AuditEntry",
    "AuditReport",
    "AuditService",
    "GatewaySigningKey",
    "InclusionProof",
    "LogService",
    "LogSigner",
    "append_audit",
    "append_audit_many",
    "checkpoint_document",
    "message_entry",
    "message_leaf_hash",
    "sequence_now",
    "signing_key_for",
    "verify_audit",
]

MAX_LEAVES_PER_CALL = 1000
"""Most leaf hashes ``GET /public/log/leaves`` returns at once."""


class AuditService:
    """Signed checkpoints: the log's taken on demand by an administrator, the old chain's listed for the public."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def signing_key(self) -> GatewaySigningKey:
        """The gateway's key that signs the checkpoints (only its public half is ever shown)."""
        return signing_key_for(self.settings)

    async def sign_checkpoint(self, principal: Principal) -> SignedTreeHead:
        """Integrate the waiting leaves now and sign the tree (the sequencer's round, on demand); commits.

        Raises:
            ProblemError: 403 without the ``admin`` scope; 409 ``audit-log-broken`` when the stored tree no longer
                has the last signed root (nothing is signed); 409 ``sequencer-busy`` when another process is
                integrating.
        """
        principal.require_scope("admin")
        sequencer = Sequencer(LogSigner.for_settings(self.settings))
        if not await sequencer.lead(self.session):
            raise ProblemError(409, "sequencer-busy", "another process is integrating the log; try again")
        try:
            head = await sequencer.integrate(self.session)
        except LogCorruptedError as exc:
            raise ProblemError(409, "audit-log-broken", str(exc)) from exc
        if head is None:
            head = await latest_tree_head(self.session)
            assert head is not None  # noqa: S101 - integrate signs the empty tree when nothing was signed
        await self.session.commit()
        return head

    async def recent_checkpoints(self, limit: int) -> list[Checkpoint]:
        """The newest ``limit`` checkpoints of the old hash chain, newest first."""
        rows = await self.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit))
        return list(rows)


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``leaf_index`` with ``leaf_hash`` is in the tree of ``tree_size``: the RFC 9162 path, deepest first."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    inclusion: list[bytes]


class LogService:
    """The public reads of the log: its latest checkpoint, leaf hashes, inclusion and consistency proofs.

    Proofs are only given for trees the log has signed: a ``tree_size`` larger than the latest checkpoint's is a
    400 naming the parameter (the tree does not exist yet for anyone to check a proof against).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checkpoint(self) -> SignedTreeHead:
        """The newest signed checkpoint.

        Raises:
            ProblemError: 404 before the sequencer signed the first.
        """
        head = await latest_tree_head(self.session)
        if head is None:
            raise ProblemError(404, "no-checkpoint", "the log has not signed a checkpoint yet")
        return head

    async def _signed_size(self, tree_size: int, parameter: str) -> None:
        head = await latest_tree_head(self.session)
        signed = 0 if head is None else head.tree_size
        if tree_size > signed:
            raise field_error(
                400, parameter, f"larger than the latest signed checkpoint ({signed} leaves)", code="invalid-query"
            )

    async def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes ``[start, end)`` of the signed tree (fewer when it ends before ``end``)."""
        head = await latest_tree_head(self.session)
        end = min(end, start + MAX_LEAVES_PER_CALL, 0 if head is None else head.tree_size)
        rows = await self.session.scalars(
            select(LogNode.hash)
            .where(LogNode.level == 0, LogNode.index >= start, LogNode.index < end)
            .order_by(LogNode.index)
        )
        return list(rows)

    async def inclusion_by_index(self, index: int, tree_size: int) -> InclusionProof:
        """The inclusion proof of leaf ``index`` in the signed tree of ``tree_size``.

        Raises:
            ProblemError: 400 naming ``tree_size`` (beyond the latest checkpoint) or ``index`` (not below it).
        """
        await self._signed_size(tree_size, "tree_size")
        if index >= tree_size:
            raise field_error(400, "index", f"must be below tree_size ({tree_size})", code="invalid-query")
        leaf = await self.session.get(LogNode, (0, index))
        return await self._proof(index, tree_size, None if leaf is None else leaf.hash)

    async def inclusion_by_hash(self, leaf_hash: bytes, tree_size: int) -> InclusionProof:
        """The inclusion proof of the first leaf with ``leaf_hash`` in the signed tree of ``tree_size``.

        Raises:
            ProblemError: 400 naming ``tree_size``; 404 when the first ``tree_size`` leaves do not hold it.
        """
        await self._signed_size(tree_size, "tree_size")
        index = await self.session.scalar(
            select(AuditRecord.leaf_index)
            .where(AuditRecord.leaf_hash == leaf_hash, AuditRecord.leaf_index < tree_size)
            .order_by(AuditRecord.leaf_index)
            .limit(1)
        )
        if index is None:
            raise ProblemError(404, "unknown-leaf", f"the first {tree_size} leaves of the log do not hold this leaf")
        return await self._proof(index, tree_size, leaf_hash)

    async def _proof(self, index: int, tree_size: int, leaf_hash: bytes | None) -> InclusionProof:
        if leaf_hash is None:
            raise ProblemError(503, "log-incomplete", f"the stored log lacks leaf {index}")
        try:
            path = await inclusion_from_store(self.session, index, tree_size)
        except MissingNodeError as exc:
            raise ProblemError(503, "log-incomplete", f"the stored log cannot prove this leaf: {exc}") from exc
        return InclusionProof(leaf_index=index, tree_size=tree_size, leaf_hash=leaf_hash, inclusion=path)

    async def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof from the signed tree of ``first`` leaves to that of ``second``.

        Raises:
            ProblemError: 400 naming ``second`` (beyond the latest checkpoint) or ``first`` (larger than second).
        """
        await self._signed_size(second, "second")
        if first > second:
            raise field_error(400, "first", f"must not exceed second ({second})", code="invalid-query")
        try:
            return await consistency_from_store(self.session, first, second)
        except MissingNodeError as exc:
            raise ProblemError(503, "log-incomplete", f"the stored log cannot prove consistency: {exc}") from exc


async def verify_audit(settings: Settings) -> AuditReport:
    """``spotcheck audit verify``: the full report for the configured database."""
    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session:
            return await audit_report(session, LogSigner.for_settings(settings))
    finally:
        await runtime.stop()


async def sequence_now(settings: Settings) -> SignedTreeHead | None:
    """``spotcheck audit checkpoint``: integrate every waiting leaf now and return the newest checkpoint.

    Returns None when another process holds the sequencer's lock.

    Raises:
        LogCorruptedError: the stored tree no longer has the last signed root; nothing is signed.
    """
    runtime = Runtime(settings)
    sequencer = Sequencer(LogSigner.for_settings(settings))
    try:
        await runtime.start()
        while True:
            async with runtime.sessions() as session, session.begin():
                if not await sequencer.lead(session):
                    return None
                head = await sequencer.integrate(session)
                if head is None:
                    return await latest_tree_head(session)
    finally:
        await runtime.stop()
