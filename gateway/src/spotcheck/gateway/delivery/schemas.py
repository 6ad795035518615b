"""Request and response bodies of the delivery API."""

from __future__ import annotations

from datetime import datetime

import msgspec

from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.gateway.web.bodies import RequestBody
from spotcheck.schemas import Identifier, Timestamp

__all__ = ["MessageView", "ReplayBody"]


class ReplayBody(RequestBody, kw_only=True, frozen=True):
    """Which dead letters to replay: those of one platform, or of a creation-time range, or both."""

    platform_id: Identifier | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None

    def __post_init__(self) -> None:
        if self.platform_id is None and self.since is None and self.until is None:
            raise ValueError("`platform_id`: give a platform, a time range, or both")


class MessageView(msgspec.Struct, kw_only=True):
    """An outbound message and where its delivery stands."""

    id: str
    message_type: str
    recipient_kind: str
    recipient_id: str
    recipient_name: str
    adapter: str
    status: str
    attempt_count: int
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    answered_at: datetime | None
    respond_by: datetime | None

    @classmethod
    def of(cls, row: OutboundMessage) -> MessageView:
        """The view of a stored outbound message."""
        return cls(
            id=row.id,
            message_type=row.message_type,
            recipient_kind=row.recipient_kind,
            recipient_id=row.recipient_id,
            recipient_name=row.recipient_name,
            adapter=row.adapter,
            status=row.status,
            attempt_count=row.attempt_count,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            acknowledged_at=row.acknowledged_at,
            answered_at=row.answered_at,
            respond_by=row.respond_by,
        )
