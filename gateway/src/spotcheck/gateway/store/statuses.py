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
    WAIVED = "waived"
    """A window its party closed early by a written waiver (the re-inspection window, 三(三))."""

    @property
    def is_settled(self) -> bool:
        """Whether nothing more is awaited on this clock."""
        return self in {DeadlineStatus.MET, DeadlineStatus.MET_LATE, DeadlineStatus.LAPSED, DeadlineStatus.WAIVED}


class DeadlineKind(StrEnum):
    """Which legal clock a deadline is."""

    RESULT_NOTICE = "result_notice"
    """The regulator notifies the result within five working days of receiving it (三(二))."""
    REINSPECTION_APPLICATION = "reinspection_application"
    """A party may apply for re-inspection within fifteen days of receiving the result notice (三(三))."""
    PLATFORM_ANSWER = "platform_answer"
    """A platform answers a request within its working-day SLA, or reports an order carried out within hours."""
    PLATFORM_ACKNOWLEDGEMENT = "platform_acknowledgement"
    """A platform acknowledges an order that must be carried out 立即 (四(二)) within hours."""
    HAZARD_NOTIFICATION = "hazard_notification"
    """An open task: the 通报 to the manufacturer's authority (四(二)) has no channel to go through (通报未送达)."""


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
    CONTACT = "contact"
    """A named person's mailbox: a platform's compliance contact, an authority's responsible officer."""
