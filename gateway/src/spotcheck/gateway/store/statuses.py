"""The statuses the store keeps, as enums: one spelling for each, checked by mypy wherever it is compared or set.

They are ``StrEnum``s, so a member equals its stored string and the columns stay plain strings (no migration).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CaseState", "DeadlineKind", "DeadlineStatus", "MessageStatus", "RecipientKind"]


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


class DeadlineKind(StrEnum):
    """Which legal clock a deadline is."""

    RESULT_NOTICE = "result_notice"
    """The regulator notifies the result within five working days of receiving it (三(二))."""
    REINSPECTION_APPLICATION = "reinspection_application"
    """A party may apply for re-inspection within fifteen days of receiving the result notice (三(三))."""
    PLATFORM_ANSWER = "platform_answer"
    """A platform answers a request or carries out an order within its working-day SLA."""


class CaseState(StrEnum):
    """Where a case stands in its lifecycle (which action leads where: ``spotcheck.gateway.cases.lifecycle``)."""

    PLANNED = "planned"
    PURCHASED = "purchased"
    SEALED = "sealed"
    SAMPLING_NOTIFIED = "sampling_notified"
    RESULT_RECEIVED = "result_received"
    RESULT_NOTIFIED = "result_notified"
    REINSPECTION = "reinspection"
    FINAL = "final"
    PUBLISHED = "published"
    MEASURES = "measures"
    CLOSED = "closed"


class RecipientKind(StrEnum):
    """Who an outbound message is addressed to."""

    PLATFORM = "platform"
    MERCHANT = "merchant"
    MANUFACTURER = "manufacturer"
    AUTHORITY = "authority"
    PUBLIC = "public"
