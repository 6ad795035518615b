"""Writing notices into the transactional outbox, in the caller's transaction."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.schemas import Message, encode_message, message_type_of
from spotcheck.sdk import new_message_id

__all__ = ["NOTIFY_CHANNEL", "Recipient", "enqueue"]

NOTIFY_CHANNEL = "spotcheck_outbox"
"""PostgreSQL channel notified, transactionally, when outbound messages are committed."""


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
    actor: str,
    case_id: str | None,
    message: Message,
    recipient: Recipient,
    respond_by: datetime | None = None,
) -> OutboundMessage:
    """Add one outbound message; it commits with the state change that caused it or not at all."""
    body = encode_message(message)
    row = OutboundMessage(
        id=new_message_id(),
        case_id=case_id,
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
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Delivered by PostgreSQL at commit (and only if it commits): wakes every LISTENing worker at once.
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    await append_audit(
        session,
        actor=actor,
        action="message.enqueued",
        subject=row.id,
        detail={
            "case_id": case_id,
            "type": row.message_type,
            "recipient": f"{recipient.kind}:{recipient.id}",
            "adapter": recipient.adapter,
            "body_sha256": hashlib.sha256(body).hexdigest(),
        },
    )
    return row
