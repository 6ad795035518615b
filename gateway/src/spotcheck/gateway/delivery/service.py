"""Operator actions on deliveries: list them with their attempts, redeliver one, replay dead letters.

A message about a case is the business of that case's authorities only: given the regulator asking, listing,
inspecting and redelivering refuse the others (403). Replaying dead letters is a gateway operator's action (an
admin token), by platform or time range, across jurisdictions, as the authorization matrix documents. The
actions own their transaction: they commit, then wake the worker.

What other capabilities use of delivery is here too, so they depend on this module alone: :func:`enqueue` and
:class:`Recipient` (writing notices into the outbox) and :func:`seal_adapter_config` (sealing a platform's
adapter secrets at registration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.delivery.outbox import Recipient, enqueue
from spotcheck.gateway.delivery.queue import notify_committed
from spotcheck.gateway.delivery.routing import seal_adapter_config
from spotcheck.gateway.store.models import Case, DeliveryAttempt, OutboundMessage, Platform
from spotcheck.gateway.store.statuses import MessageStatus, RecipientKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError

__all__ = [
    "Recipient",
    "dead_letters",
    "delivery_detail",
    "enqueue",
    "list_deliveries",
    "redeliver",
    "replay_dead_letters",
    "replay_messages",
    "seal_adapter_config",
]

_STATUSES = frozenset(MessageStatus)


def _filtered(
    status: str | None, platform_id: str | None, since: datetime | None, until: datetime | None
) -> Select[OutboundMessage]:
    query = select(OutboundMessage)
    if status:
        if status not in _STATUSES:
            raise ValueError(f"status: expected one of {sorted(_STATUSES)}")
        query = query.where(OutboundMessage.status == status)
    if platform_id:
        query = query.where(
            OutboundMessage.recipient_kind == RecipientKind.PLATFORM, OutboundMessage.recipient_id == platform_id
        )
    if since:
        query = query.where(OutboundMessage.created_at >= since)
    if until:
        query = query.where(OutboundMessage.created_at < until)
    return query


async def _check_access(session: AsyncSession, principal: Principal, row: OutboundMessage) -> None:
    """403 when ``row`` belongs to a case outside ``principal``'s jurisdiction."""
    if row.case_id is None:
        return
    case = await session.get(Case, row.case_id)
    if case is not None and not principal.can_access_case(case):
        raise ProblemError(403, "outside-jurisdiction", f"case {row.case_id} is outside this authority's jurisdiction")


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
    session: AsyncSession, message_id: str, *, principal: Principal
) -> tuple[OutboundMessage, list[DeliveryAttempt]] | None:
    """One message and every attempt made at it, oldest first; None when there is no such message.

    Raises:
        ProblemError: 403 when the message's case is outside ``principal``'s jurisdiction.
    """
    row = await session.get(OutboundMessage, message_id)
    if row is None:
        return None
    await _check_access(session, principal, row)
    attempts = await session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)
    )
    return row, list(attempts.all())


async def redeliver(
    session: AsyncSession,
    message_id: str,
    *,
    actor: str,
    principal: Principal | None = None,
    wake_outbox: Callable[[], None] | None = None,
) -> OutboundMessage | None:
    """Queue a message for immediate delivery again (same webhook-id), commit, and wake the worker.

    A message being delivered right now is left as it is; None when there is no such message. ``principal`` is
    the regulator asking through the API (the operator's console passes none); ``wake_outbox`` wakes a worker
    running in this process.

    Raises:
        ProblemError: 403 when the message's case is outside ``principal``'s jurisdiction.
    """
    row = await session.get(OutboundMessage, message_id)
    if row is None:
        return None
    if principal is not None:
        await _check_access(session, principal, row)
    if row.status != MessageStatus.DELIVERING:
        row.status = MessageStatus.PENDING
        row.next_attempt_at = utcnow()
        row.lease_owner = None
        row.lease_expires_at = None
        await append_audit(
            session, actor=actor, action="message.redeliver", subject=row.id, detail={"was": row.last_status}
        )
        await notify_committed(session)
    await session.commit()
    if wake_outbox is not None:
        wake_outbox()
    return row


async def dead_letters(
    session: AsyncSession, *, platform_id: str | None, since: datetime | None, until: datetime | None
) -> list[str]:
    """Ids of dead-lettered messages in the filter, oldest first."""
    query = _filtered(MessageStatus.DEAD, platform_id, since, until).with_only_columns(OutboundMessage.id)
    return list((await session.scalars(query.order_by(OutboundMessage.id))).all())


async def replay_dead_letters(
    session: AsyncSession,
    *,
    platform_id: str | None,
    since: datetime | None,
    until: datetime | None,
    actor: str,
    wake_outbox: Callable[[], None] | None = None,
) -> int:
    """Put the dead letters in the filter back in the queue (see :func:`replay_messages`); returns how many."""
    ids = await dead_letters(session, platform_id=platform_id, since=since, until=until)
    return await replay_messages(session, ids, actor=actor, wake_outbox=wake_outbox)


async def replay_messages(
    session: AsyncSession, ids: list[str], *, actor: str, wake_outbox: Callable[[], None] | None = None
) -> int:
    """Put the dead letters among ``ids`` back in the queue, commit, and wake the worker; returns how many.

    A platform disabled by a 410 is re-enabled, and the messages held while it was disabled go out now too.
    """
    if not ids:
        return 0
    result = await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == MessageStatus.DEAD)
        .values(
            status=MessageStatus.PENDING,
            next_attempt_at=utcnow(),
            attempt_count=0,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    platforms = await session.scalars(
        select(OutboundMessage.recipient_id)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.recipient_kind == RecipientKind.PLATFORM)
        .distinct()
    )
    for replayed_platform in platforms.all():
        await _enable_platform(session, replayed_platform)
    count = cast("CursorResult[Any]", result).rowcount
    detail: dict[str, Any] = {"count": count, "first": ids[0], "last": ids[-1]}
    await append_audit(session, actor=actor, action="message.replay", subject="dead-letters", detail=detail)
    await notify_committed(session)
    await session.commit()
    if wake_outbox is not None:
        wake_outbox()
    return count


async def _enable_platform(session: AsyncSession, platform_id: str) -> None:
    platform = await session.get(Platform, platform_id)
    if platform is None or platform.disabled_at is None:
        return
    platform.disabled_at = None
    platform.disabled_reason = None
    # Messages held while the endpoint was disabled go out now too, not at their next hold check.
    await session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.recipient_kind == RecipientKind.PLATFORM,
            OutboundMessage.recipient_id == platform_id,
            OutboundMessage.status == MessageStatus.PENDING,
        )
        .values(next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
