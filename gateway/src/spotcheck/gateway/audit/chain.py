"""Append-only audit trail: every record carries the hash of the one before it, so any edit breaks the chain."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.types import utcnow

__all__ = [
    "GENESIS",
    "AuditEntry",
    "ChainBreak",
    "append_audit",
    "append_audit_many",
    "record_hash",
    "verify_chain",
]

GENESIS = "0" * 64
_LOCK_KEY = 0x5C0A_0D17  # one PostgreSQL advisory lock serialises appends across replicas


def record_hash(prev_hash: str, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the record's canonical JSON (sorted keys, UTC microseconds)."""
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


async def append_audit(
    session: AsyncSession, *, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> str:
    """Append one record in the caller's transaction, so it commits or vanishes with the change it describes.

    Returns the record's hash.
    """
    return await append_audit_many(session, [AuditEntry(actor, action, subject, detail or {})])


async def append_audit_many(session: AsyncSession, entries: Sequence[AuditEntry]) -> str:
    """Append several records, chained in order, in the caller's transaction; returns the new head's hash.

    One look-up of the chain's head and one multi-row insert for the lot: the delivery worker records a whole
    batch of outcomes this way instead of paying a round trip per record. The rows go in as a plain bulk insert
    (nobody needs their sequence numbers back), which the ORM would otherwise send one row at a time.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    prev = await session.scalar(select(AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1))
    prev_hash = prev or GENESIS
    if not entries:
        return prev_hash
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        digest = record_hash(prev_hash, at, entry.actor, entry.action, entry.subject, entry.detail)
        rows.append(
            {
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "detail": entry.detail,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    await session.execute(insert(AuditRecord), rows)
    return prev_hash


@dataclass(frozen=True)
class ChainBreak:
    """The first record whose hash or link does not hold, and why."""

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
    """Walk the whole chain; returns (records checked, first break or None)."""
    prev_hash = GENESIS
    checked = 0
    async for row in _records(session):
        if row.prev_hash != prev_hash:
            return checked, ChainBreak(row.seq, "link to the previous record does not match")
        expected = record_hash(row.prev_hash, row.at, row.actor, row.action, row.subject, row.detail)
        if expected != row.hash:
            return checked, ChainBreak(row.seq, "content does not match its hash (record altered)")
        prev_hash = row.hash
        checked += 1
    return checked, None
