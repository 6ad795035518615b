"""Request and response bodies of the delivery API."""

from __future__ import annotations

from datetime import datetime

import msgspec

from spotcheck.gateway.web.bodies import RequestBody
from spotcheck.schemas import (
    Identifier,
    Timestamp,
)

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
