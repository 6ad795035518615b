"""Response bodies of the deadline API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from spotcheck.gateway.deadlines.service import DeadlineReading

__all__ = ["DeadlineView"]


class DeadlineView(msgspec.Struct, kw_only=True):
    """An open or met clock on a case."""

    id: str
    case_id: str
    kind: str
    party: str
    due_at: datetime
    provisional: bool
    rule: str
    basis: str
    status: str
    urgency: Literal["ok", "due_soon", "overdue", "met"]
    message_id: str | None = None

    @classmethod
    def of(cls, reading: DeadlineReading) -> DeadlineView:
        """The view of a deadline as it was read."""
        row = reading.deadline
        return cls(
            id=row.id,
            case_id=row.case_id,
            kind=row.kind,
            party=row.party,
            due_at=row.due_at,
            provisional=row.provisional,
            rule=row.rule,
            basis=row.basis,
            status=row.status,
            urgency=reading.urgency,
            message_id=row.message_id,
        )
