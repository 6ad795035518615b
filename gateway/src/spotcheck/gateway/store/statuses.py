"""The statuses the store keeps, as enums: one spelling for each, checked by mypy wherever it is compared or set.

They are ``StrEnum``s, so a member equals its stored string and the columns stay plain strings (no migration).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeadlineStatus", "MessageStatus", "RecipientKind"]


class MessageStatus(StrEnum):
    """Where an outbound message stands in the outbox."""

    PENDING = "pending"
    """Waiting for its next attempt (``next_attempt_at``)."""
    DELIVERING = "delivering"
    """Claimed by a worker under a lease."""
    DELIVERED = "delivered"
    """The destination accepted it (2xx or the adapter's equivalent); never undone."""
    DEAD = "dead"
    """Dead-lettered: refused for good, gone, or out of retries; an operator may replay it."""


class DeadlineStatus(StrEnum):
    """Where a legal clock on a case stands."""

    OPEN = "open"
    MET = "met"
    MET_LATE = "met_late"
    ESCALATED = "escalated"
    """Overdue and escalated; still answerable (then met late)."""
    LAPSED = "lapsed"
    """A window that ran out unused (the re-inspection window: the result became final)."""

    @property
    def is_settled(self) -> bool:
        """Whether nothing more is awaited on this clock."""
        return self in {DeadlineStatus.MET, DeadlineStatus.MET_LATE, DeadlineStatus.LAPSED}


class RecipientKind(StrEnum):
    """Who an outbound message is addressed to."""

    PLATFORM = "platform"
    MERCHANT = "merchant"
    MANUFACTURER = "manufacturer"
    AUTHORITY = "authority"
    PUBLIC = "public"
