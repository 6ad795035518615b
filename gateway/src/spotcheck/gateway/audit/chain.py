"""Appending to the audit trail, and checking the records against their leaves and the old hash chain.

Each record is a leaf of the transparency log (:mod:`spotcheck.gateway.audit.leaves`). Appending inserts the
record with its leaf hash in the caller's transaction and nothing more: no lock, no read of a chain head. The
sequencer (:mod:`spotcheck.gateway.audit.sequencer`) later gives it its place in the tree.

Records written before the log (migration ``0004``) also carry the links of the hash chain they formed
(``prev_hash``, ``hash``, see :func:`record_hash`); their old signed checkpoints still verify against them.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import msgspec
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.leaves import MESSAGE_ACTION, message_detail, record_leaf_hash
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.types import utcnow

__all__ = [
    "GENESIS",
    "AuditEntry",
    "ChainBreak",
    "append_audit",
    "append_audit_many",
    "message_entry",
    "record_hash",
    "verify_chain",
]

GENESIS = "0" * 64
_AUDIT_RECORDS = cast("Table", AuditRecord.__table__)  # the Core table: appends are plain multi-row inserts
"""The ``prev_hash`` of the first record of the old hash chain."""


def record_hash(prev_hash: str, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> str:
    """The old chain's link: SHA-256 over the previous hash and the record's canonical JSON (sorted keys)."""
    payload = msgspec.json.encode(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        },
        order="sorted",
    )
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One record to append: who did what to which subject, with details."""

    actor: str
    action: str
    subject: str
    detail: dict[str, Any] = field(default_factory=dict)


def message_entry(
    direction: Literal["out", "in"], webhook_id: str, timestamp: str | int, body: bytes, *, actor: str
) -> AuditEntry:
    """The record of one message sent (``out``) or received (``in``): its leaf is the SDK's message leaf.

    Raises:
        ValueError: the id or timestamp cannot form a leaf (empty, or holding a newline).
    """
    return AuditEntry(actor, MESSAGE_ACTION, webhook_id, message_detail(direction, webhook_id, timestamp, body))


async def append_audit(
    session: AsyncSession, *, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> str:
    """Append one record in the caller's transaction, so it commits or vanishes with the change it describes.

    Returns the record's leaf hash (hex).
    """
    return (await append_audit_many(session, [AuditEntry(actor, action, subject, detail or {})]))[0]


async def append_audit_many(session: AsyncSession, entries: Sequence[AuditEntry]) -> list[str]:
    """Append several records in the caller's transaction; returns their leaf hashes (hex), in order.

    One multi-row insert and nothing else: no lock and no read, so appends from many requests and replicas never
    wait for each other. The rows go in as a plain bulk insert (nobody needs their sequence numbers back), which
    the ORM would otherwise send one row at a time.
    """
    if not entries:
        return []
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        digest = record_leaf_hash(at, entry.actor, entry.action, entry.subject, entry.detail)
        rows.append(
            {
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "detail": entry.detail,
                "leaf_hash": digest,
            }
        )
    await session.execute(insert(_AUDIT_RECORDS), rows)
    return [row["leaf_hash"].hex() for row in rows]


@dataclass(frozen=True)
class ChainBreak:
    """The first record whose content, leaf hash or old chain link does not hold, and why."""

    seq: int
    reason: str


async def _records(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditRecord]:
    last = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq


async def verify_chain(session: AsyncSession) -> tuple[int, ChainBreak | None]:
    """Check every record: its content against its leaf hash, and the old chain's links where it has them.

    Returns (records checked, first break or None).
    """
    prev_hash = GENESIS
    checked = 0
    async for row in _records(session):
        if row.hash is not None:
            if row.prev_hash != prev_hash:
                return checked, ChainBreak(row.seq, "link to the previous record does not match")
            if record_hash(prev_hash, row.at, row.actor, row.action, row.subject, row.detail) != row.hash:
                return checked, ChainBreak(row.seq, "content does not match its hash (record altered)")
            prev_hash = row.hash
        if record_leaf_hash(row.at, row.actor, row.action, row.subject, row.detail) != row.leaf_hash:
            return checked, ChainBreak(row.seq, "content does not match its leaf hash (record altered)")
        checked += 1
    return checked, None
