"""Response bodies of the deadline API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

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
