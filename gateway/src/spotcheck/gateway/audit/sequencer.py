"""The sequencer: gives committed audit records their place in the log, stores the tree and signs checkpoints.

Requests only insert records with their leaf hashes (:mod:`spotcheck.gateway.audit.chain`). One sequencer at a
time — elected by a PostgreSQL advisory lock for the length of its transaction, in-process on SQLite — takes the
records not integrated yet in insertion order, assigns the next leaf indexes, stores every complete subtree they
finish (:class:`~spotcheck.gateway.audit.tree.CompactRange`) and signs a C2SP checkpoint of the new tree, all in
one transaction: a sequencer killed mid-batch leaves nothing behind, and the next one starts from the last signed
tree. The tree size is always the newest signed checkpoint's, so no checkpoint can sign a smaller tree than one
already published; ``tree_size`` being the checkpoints' primary key and ``leaf_index`` unique stop two sequencers
that somehow ran at once from integrating the same leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.checkpoints import GatewaySigningKey, signing_key_for
from spotcheck.gateway.audit.tree import CompactRange, MissingNodeError
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_log import LogNode, SignedTreeHead
from spotcheck.gateway.store.types import utcnow
from spotcheck.sdk import format_log_checkpoint, format_verifier_key

__all__ = [
    "BATCH_LEAVES",
    "SEQUENCER_LOCK",
    "LogCorruptedError",
    "LogSigner",
    "Sequencer",
    "latest_tree_head",
    "log_origin",
]

BATCH_LEAVES: Final = 10_000
"""Most leaves one round integrates: at two rounds a second, far above the intake's peak rate."""

SEQUENCER_LOCK: Final = 5150003
"""The PostgreSQL advisory lock whose holder is the one sequencer."""


def log_origin(settings: Settings) -> str:
    """The log's origin and key name: the public base URL's host (and port) followed by ``/log``."""
    host = urlsplit(settings.http.public_base_url).netloc.rsplit("@", 1)[-1]
    return f"{host}/log"


@dataclass(frozen=True)
class LogSigner:
    """Signs the log's checkpoints with the gateway's Ed25519 key under the log's origin."""

    origin: str
    key: GatewaySigningKey

    @classmethod
    def for_settings(cls, settings: Settings) -> LogSigner:
        """The signer of the gateway these settings describe."""
        return cls(log_origin(settings), signing_key_for(settings))

    @property
    def verifier_key(self) -> str:
        """The C2SP verifier key (``name+keyid+base64``) platforms pin."""
        return format_verifier_key(self.origin, self.key.public_bytes)

    def sign(self, tree_size: int, root_hash: bytes) -> str:
        """The signed ``tlog-checkpoint`` note of a tree."""
        return self.key.sign_note(format_log_checkpoint(self.origin, tree_size, root_hash), self.origin)


class LogCorruptedError(Exception):
    """The stored tree no longer matches the newest signed checkpoint: the sequencer refuses to sign over it."""


async def latest_tree_head(session: AsyncSession) -> SignedTreeHead | None:
    """The newest (largest) signed checkpoint, or None before the first."""
    return await session.scalar(select(SignedTreeHead).order_by(SignedTreeHead.tree_size.desc()).limit(1))


class Sequencer:
    """Integrates new leaves in batches and signs a checkpoint of each new tree (see the module documentation)."""

    def __init__(self, signer: LogSigner, *, batch: int = BATCH_LEAVES) -> None:
        self.signer = signer
        self.batch = batch

    async def lead(self, session: AsyncSession) -> bool:
        """Take the sequencer's lock for this transaction: False when another process holds it (PostgreSQL)."""
        if session.bind is None or session.bind.dialect.name != "postgresql":
            return True
        return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK}))

    async def integrate(self, session: AsyncSession) -> SignedTreeHead | None:
        """One batch in the caller's transaction (which must hold the lead): the new checkpoint, or None.

        Signs the empty tree once when nothing was ever signed, so the log always has a checkpoint to serve.

        Raises:
            LogCorruptedError: the stored edge of the tree does not give the last signed root; nothing is signed.
        """
        latest = await latest_tree_head(session)
        size = 0 if latest is None else latest.tree_size
        pending = (
            await session.execute(
                select(AuditRecord.seq, AuditRecord.leaf_hash)
                .where(AuditRecord.leaf_index.is_(None))
                .order_by(AuditRecord.seq)
                .limit(self.batch)
            )
        ).all()
        if not pending and latest is not None:
            return None
        try:
            edge = await CompactRange.load(session, size)
        except MissingNodeError as exc:
            raise LogCorruptedError(f"the tree of the last checkpoint ({size} leaves) is incomplete: {exc}") from exc
        if latest is not None and edge.root() != latest.root_hash:
            raise LogCorruptedError(f"the stored tree of {size} leaves no longer has the signed root")
        nodes: list[dict[str, object]] = []
        placed: list[dict[str, int]] = []
        for seq, digest in pending:
            placed.append({"seq": seq, "leaf_index": edge.size})
            nodes.extend({"level": lv, "index": ix, "hash": h} for lv, ix, h in edge.append(digest))
        if placed:
            await session.execute(update(AuditRecord), placed)
            await session.execute(insert(LogNode), nodes)
        root = edge.root()
        head = SignedTreeHead(
            tree_size=edge.size, root_hash=root, note=self.signer.sign(edge.size, root), signed_at=utcnow()
        )
        session.add(head)
        await session.flush()
        return head
