"""Writing notices into the transactional outbox, in the caller's transaction.

The caller audits: the action that causes notices lists them, with their body digests, in its one audit record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.delivery.queue import NOTIFY_CHANNEL, notify_committed
from spotcheck.gateway.store.models import Case, OutboundMessage
from spotcheck.schemas import Message, encode_message, message_type_of
from spotcheck.sdk import new_message_id

__all__ = ["NOTIFY_CHANNEL", "Recipient", "enqueue"]


@dataclass(frozen=True)
class Recipient:
    """Who a notice goes to and through which adapter (``destination`` holds no secrets)."""

    kind: str  # platform | merchant | manufacturer | public | authority
    id: str
    name: str
    adapter: str
    destination: dict[str, Any]


async def enqueue(
    session: AsyncSession,
    *,
    case: Case | None,
    message: Message,
    recipient: Recipient,
    respond_by: datetime | None = None,
) -> OutboundMessage:
    """Add one outbound message; it commits with the state change that caused it or not at all.

    Nothing is audited here: the caller's audit record names the message and its body's SHA-256. The row carries
    the case's scope (:meth:`Case.scope`), which decides who sees it on the console.
    """
    body = encode_message(message)
    row = OutboundMessage(
        id=new_message_id(),
        case_id=case.id if case is not None else None,
        **(case.scope() if case is not None else {}),
        message_type=message_type_of(message),
        recipient_kind=recipient.kind,
        recipient_id=recipient.id,
        recipient_name=recipient.name,
        adapter=recipient.adapter,
        destination=recipient.destination,
        body=body,
        timestamp=int(time.time()),
        status="pending",
        respond_by=respond_by,
    )
    session.add(row)
    # Sent at commit (and only if it commits): wakes every worker at once.
    await notify_committed(session)
    return row
