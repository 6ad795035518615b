"""Reading and sweeping deadlines: urgency, escalation of overdue platform answers, automatic finality.

:func:`sweep_deadlines` works inside the caller's transaction (the scheduler runs it in its own);
:class:`DeadlineService` is what the API calls: it checks the principal and owns its unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.legal import basis
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Case, CaseEvent, Deadline, OperationalEvent, ReinspectionApplication
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.workdays import Deadline as Clock
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = [
    "DeadlineReading",
    "DeadlineService",
    "Urgency",
    "list_open_deadlines",
    "query_deadlines",
    "read_deadline",
    "sweep_deadlines",
]

Urgency = Literal["ok", "due_soon", "overdue", "met"]
"""How pressing a deadline is: settled clocks are ``met`` whatever their outcome."""

_SWEEPER = "system:deadlines"
_UNSETTLED = (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)
_STATUS_FILTER: dict[str, Urgency] = {"overdue": "overdue", "due-soon": "due_soon"}


@dataclass(frozen=True)
class DeadlineReading:
    """A deadline row and its urgency at the moment it was read."""

    deadline: Deadline
    urgency: Urgency


def read_deadline(row: Deadline, now: datetime, calendar: WorkdayCalendar) -> DeadlineReading:
    """A deadline with its urgency at ``now`` (working days decide when "due soon" begins)."""
    if DeadlineStatus(row.status).is_settled:
        return DeadlineReading(row, "met")
    clock = Clock(due_at=row.due_at, provisional=row.provisional, rule=row.rule, basis=row.basis)
    return DeadlineReading(row, clock.status(now, calendar=calendar))


async def query_deadlines(
    session: AsyncSession, calendar: WorkdayCalendar, *, status: str = "all", now: datetime | None = None
) -> list[DeadlineReading]:
    """Deadlines still awaited, most urgent first; ``status`` filters to ``overdue`` or ``due-soon``."""
    moment = now or utcnow()
    rows = await session.scalars(select(Deadline).where(Deadline.status.in_(_UNSETTLED)).order_by(Deadline.due_at))
    readings = [read_deadline(row, moment, calendar) for row in rows]
    wanted = _STATUS_FILTER.get(status)
    return [r for r in readings if wanted is None or r.urgency == wanted]


async def list_open_deadlines(settings: Settings, *, status: str) -> list[Deadline]:
    """The CLI's view: opens the store, sweeps, commits, and lists the deadlines still awaited."""
    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session:
            await sweep_deadlines(session, runtime.calendar)
            await session.commit()
            return [r.deadline for r in await query_deadlines(session, runtime.calendar, status=status)]
    finally:
        await runtime.stop()


async def sweep_deadlines(
    session: AsyncSession, calendar: WorkdayCalendar, *, now: datetime | None = None
) -> dict[str, int]:
    """Escalate overdue platform answers and make results final whose re-inspection window passed unused.

    Runs in the caller's transaction and does not commit; answers how many deadlines were escalated and how many
    cases finalized. Idempotent: an escalated deadline is not escalated twice.
    """
    moment = now or utcnow()
    escalated = await _escalate_overdue(session, moment)
    finalized = await _finalize_lapsed_windows(session, moment)
    return {"escalated": escalated, "finalized": finalized}


async def _escalate_overdue(session: AsyncSession, moment: datetime) -> int:
    overdue = await session.scalars(
        select(Deadline).where(
            Deadline.status == DeadlineStatus.OPEN,
            Deadline.due_at < moment,
            # A lapsed re-inspection window is not a failure to answer: it makes the result final instead.
            Deadline.kind != DeadlineKind.REINSPECTION_APPLICATION,
        )
    )
    escalated = 0
    for row in overdue:
        row.status = DeadlineStatus.ESCALATED
        row.escalated_at = moment
        case = await session.get(Case, row.case_id)
        session.add(
            OperationalEvent(
                id=new_id("evt"),
                kind=f"overdue.{row.kind}",
                case_id=row.case_id,
                platform_id=case.platform_id if case and row.party.startswith("platform") else None,
                detail={
                    "deadline": row.id,
                    "due_at": row.due_at.isoformat(),
                    "party": row.party,
                    "message": row.message_id,
                },
            )
        )
        await append_audit(
            session,
            actor=_SWEEPER,
            action="deadline.escalated",
            subject=row.id,
            detail={"case_id": row.case_id, "kind": row.kind, "party": row.party},
        )
        escalated += 1
    return escalated


async def _finalize_lapsed_windows(session: AsyncSession, moment: datetime) -> int:
    # 三(三): with no application inside the window the result becomes final by itself.
    cases = await session.scalars(
        select(Case).where(Case.state == CaseState.RESULT_NOTIFIED, Case.reinspection_deadline < moment)
    )
    finalized = 0
    for case in cases:
        applied = await session.scalar(
            select(ReinspectionApplication.id).where(ReinspectionApplication.case_id == case.id)
        )
        if applied is not None:
            continue
        case.state = CaseState.FINAL
        case.final_at = moment
        session.add(
            CaseEvent(
                case_id=case.id,
                action="finalize",
                from_state=CaseState.RESULT_NOTIFIED,
                to_state=CaseState.FINAL,
                actor=_SWEEPER,
                detail={"by_deadline": True, "basis": basis("三(三)")},
            )
        )
        await append_audit(
            session, actor=_SWEEPER, action="case.finalize", subject=case.id, detail={"by_deadline": True}
        )
        windows = await session.scalars(
            select(Deadline).where(
                Deadline.case_id == case.id,
                Deadline.kind == DeadlineKind.REINSPECTION_APPLICATION,
                Deadline.status == DeadlineStatus.OPEN,
            )
        )
        for window in windows:
            window.status = DeadlineStatus.LAPSED
            window.met_at = moment
        finalized += 1
    return finalized


class DeadlineService:
    """What the deadline API does for one regulator: list the clocks it may see, sweep now, read events."""

    def __init__(self, session: AsyncSession, principal: Principal, calendar: WorkdayCalendar) -> None:
        self.session = session
        self.principal = principal
        self.calendar = calendar

    async def open_deadlines(self, *, status: str = "all") -> list[DeadlineReading]:
        """Deadlines still awaited on cases this principal may see, most urgent first."""
        readings = await query_deadlines(self.session, self.calendar, status=status)
        visible: list[DeadlineReading] = []
        for reading in readings:
            case = await self.session.get(Case, reading.deadline.case_id)
            if case is not None and self.principal.can_access_case(case):
                visible.append(reading)
        return visible

    async def sweep(self) -> dict[str, int]:
        """Escalate and finalize now (admin scope), in a transaction of its own that this call commits."""
        self.principal.require_scope("admin")
        result = await sweep_deadlines(self.session, self.calendar)
        await self.session.commit()
        return result

    async def events(self, *, limit: int = 100) -> list[OperationalEvent]:
        """The latest operational events (escalations, disabled endpoints, dead letters) this principal may see.

        Events of no (known) case concern every regulator; ``limit`` is clamped to 1..500 before filtering.
        """
        rows = await self.session.scalars(
            select(OperationalEvent).order_by(OperationalEvent.id.desc()).limit(max(1, min(limit, 500)))
        )
        visible: list[OperationalEvent] = []
        for row in rows:
            case = await self.session.get(Case, row.case_id) if row.case_id else None
            if case is None or self.principal.can_access_case(case):
                visible.append(row)
        return visible
