"""Response bodies of the deadline API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from spotcheck.gateway.deadlines.service import Compliance, DeadlineReading
from spotcheck.gateway.store.models_duties import PlatformFinding

__all__ = ["ComplianceView", "DeadlineView", "FindingView"]


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
    missing: list[str] = msgspec.field(default_factory=list)
    """What a partial answer still lacks: ``order:<no>`` per order neither confirmed nor declared, ``records``."""

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
            missing=list(reading.missing),
        )


class FindingView(msgspec.Struct, kw_only=True):
    """A finding against a platform: 拖延, an order's deadline lapsed twice (五(三))."""

    id: str
    platform_id: str
    case_id: str
    deadline_id: str
    message_id: str | None
    kind: str
    order_type: str
    basis: str
    detail: str
    found_at: datetime

    @classmethod
    def of(cls, row: PlatformFinding) -> FindingView:
        """The view of a stored finding."""
        return cls(
            id=row.id,
            platform_id=row.platform_id,
            case_id=row.case_id,
            deadline_id=row.deadline_id,
            message_id=row.message_id,
            kind=row.kind,
            order_type=row.order_type,
            basis=row.basis,
            detail=row.detail,
            found_at=row.found_at,
        )


class ComplianceView(msgspec.Struct, kw_only=True):
    """A platform's compliance figures: its answer deadlines by outcome and the 拖延 findings against it."""

    platform_id: str
    deadlines_total: int
    met: int
    met_late: int
    overdue: int
    delays: int
    findings: list[FindingView]

    @classmethod
    def of(cls, figures: Compliance) -> ComplianceView:
        """The view of a platform's figures."""
        return cls(
            platform_id=figures.platform_id,
            deadlines_total=figures.total,
            met=figures.met,
            met_late=figures.met_late,
            overdue=figures.overdue,
            delays=figures.delays,
            findings=[FindingView.of(f) for f in figures.findings],
        )
