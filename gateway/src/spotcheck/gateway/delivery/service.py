"""Operator actions on deliveries: list them with their attempts, redeliver one, replay dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.store.models import DeliveryAttempt, OutboundMessage, Platform
from spotcheck.gateway.store.types import utcnow

__all__ = ["dead_letters", "delivery_detail", "list_deliveries", "redeliver", "replay_dead_letters"]

_STATUSES = frozenset({"pending", "delivering", "delivered", "dead"})


def _filtered(
    status: str | None, platform_id: str | None, since: datetime | None, until: datetime | None
) -> Select[OutboundMessage]:
    query = select(OutboundMessage)
    if status:
        if status not in _STATUSES:
            raise ValueError(f"status: expected one of {sorted(_STATUSES)}")
        query = query.where(OutboundMessage.status == status)
    if platform_id:
        query = query.where(OutboundMessage.recipient_kind == "platform", OutboundMessage.recipient_id == platform_id)
    if since:
        query = query.where(OutboundMessage.created_at >= since)
    if until:
        query = query.where(OutboundMessage.created_at < until)
    return query


async def list_deliveries(
    session: AsyncSession,
    *,
    status: str | None = None,
    platform_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[OutboundMessage]:
    """Outbound messages, newest first, filtered by delivery status, platform and creation time."""
    query = _filtered(status, platform_id, since, until).order_by(OutboundMessage.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def delivery_detail(
    session: AsyncSession, message_id: str
) -> tuple[OutboundMessage, list[DeliveryAttempt]] | None:
    """One message and every attempt made at it, oldest first."""
    row = await session.get(OutboundMessage, message_id)
    if row is None:
        return None
    attempts = await session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)
    )
    return row, list(attempts.all())


async def redeliver(session: AsyncSession, message_id: str, *, actor: str) -> OutboundMessage | None:
    """Queue a message for immediate delivery again (same webhook-id); the caller commits."""
    row = await session.get(OutboundMessage, message_id)
    if row is None:
        return None
    if row.status == "delivering":
        return row
    row.status = "pending"
    row.next_attempt_at = utcnow()
    row.lease_owner = None
    row.lease_expires_at = None
    await append_audit(
        session, actor=actor, action="message.redeliver", subject=row.id, detail={"was": row.last_status}
    )
    return row


async def dead_letters(
    session: AsyncSession, *, platform_id: str | None, since: datetime | None, until: datetime | None
) -> list[str]:
    """Ids of dead-lettered messages in the filter, oldest first."""
    query = _filtered("dead", platform_id, since, until).with_only_columns(OutboundMessage.id)
    return list((await session.scalars(query.order_by(OutboundMessage.id))).all())


async def replay_dead_letters(session: AsyncSession, ids: list[str], *, actor: str) -> int:
    """Put dead letters back in the queue (a platform disabled by a 410 is re-enabled); the caller commits."""
    if not ids:
        return 0
    result = await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "dead")
        .values(status="pending", next_attempt_at=utcnow(), attempt_count=0, lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    platforms = await session.scalars(
        select(OutboundMessage.recipient_id)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.recipient_kind == "platform")
        .distinct()
    )
    for platform_id in platforms.all():
        platform = await session.get(Platform, platform_id)
        if platform is not None and platform.disabled_at is not None:
            platform.disabled_at = None
            platform.disabled_reason = None
            # Messages held while the endpoint was disabled go out now too, not at their next hold check.
            await session.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.recipient_kind == "platform",
                    OutboundMessage.recipient_id == platform_id,
                    OutboundMessage.status == "pending",
                )
                .values(next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    count: int = result.rowcount  # type: ignore[attr-defined]
    detail: dict[str, Any] = {"count": count, "first": ids[0], "last": ids[-1]}
    await append_audit(session, actor=actor, action="message.replay", subject="dead-letters", detail=detail)
    return count
