"""Reading and sweeping deadlines: urgency, escalation of lapsed platform answers, findings, automatic finality.

:func:`sweep_deadlines` works inside the caller's transaction (the scheduler runs it in its own);
:class:`DeadlineService` is what the API calls: it checks the principal and owns its unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, visible_cases
from spotcheck.gateway.audit.service import AuditEntry, append_audit, append_audit_many, message_entry
from spotcheck.gateway.deadlines.answers import records_missing
from spotcheck.gateway.deadlines.escalation import DELAY, SWEEPER, escalate_lapsed
from spotcheck.gateway.deadlines.windows import (
    Application,
    PartyRole,
    Waiver,
    announce_unreached,
    beijing,
    open_windows,
    record_application,
    record_waiver,
    refresh_windows,
    settle_lapsed_windows,
    unsettled_windows,
)
from spotcheck.gateway.legal import basis
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import (
    Case,
    CaseEvent,
    Deadline,
    OperationalEvent,
    OutboundMessage,
    Platform,
    ReinspectionApplication,
)
from spotcheck.gateway.store.models_duties import PlatformFinding
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.gateway.workdays import Deadline as Clock
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = [
    "DELAY",
    "Application",
    "Compliance",
    "DeadlineReading",
    "DeadlineService",
    "PartyRole",
    "Urgency",
    "Waiver",
    "beijing",
    "list_open_deadlines",
    "open_windows",
    "query_deadlines",
    "read_deadline",
    "record_application",
    "record_waiver",
    "records_missing",
    "refresh_windows",
    "settle_lapsed_windows",
    "sweep_deadlines",
    "unsettled_windows",
    "with_missing",
]

Urgency = Literal["ok", "due_soon", "overdue", "met"]
"""How pressing a deadline is: settled clocks are ``met`` whatever their outcome."""

_SWEEPER = SWEEPER
_UNSETTLED = (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)
_STATUS_FILTER: dict[str, Urgency] = {"overdue": "overdue", "due-soon": "due_soon"}


@dataclass(frozen=True)
class DeadlineReading:
    """A deadline row and its urgency at the moment it was read."""

    deadline: Deadline
    urgency: Urgency
    missing: tuple[str, ...] = ()
    """What a partial answer still lacks (a records request's orders and records), empty otherwise."""


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
    readings = [await with_missing(session, read_deadline(row, moment, calendar)) for row in rows]
    wanted = _STATUS_FILTER.get(status)
    return [r for r in readings if wanted is None or r.urgency == wanted]


async def with_missing(session: AsyncSession, reading: DeadlineReading) -> DeadlineReading:
    """``reading`` with what its partial answer still lacks, for an open records request."""
    row = reading.deadline
    if row.message_id is None or reading.urgency == "met" or row.kind != DeadlineKind.PLATFORM_ANSWER:
        return reading
    notice = await session.get(OutboundMessage, row.message_id)
    case = await session.get(Case, row.case_id)
    if notice is None or case is None or notice.message_type != "records.request":
        return reading
    return DeadlineReading(row, reading.urgency, tuple(await records_missing(session, case, notice)))


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
    """Escalate lapsed platform answers and make results final whose every re-inspection window is closed.

    Runs in the caller's transaction and does not commit; answers how many deadlines were escalated, how many
    second lapses became 拖延 findings and how many cases were finalized. Idempotent: a deadline is escalated
    once and found against once. Reminders go through the outbox: the caller wakes it after committing.
    """
    moment = now or utcnow()
    escalated = await escalate_lapsed(session, moment)
    finalized = await _finalize_closed_windows(session, calendar, moment)
    return {"escalated": escalated.escalated, "findings": escalated.findings, "finalized": finalized}


async def _finalize_closed_windows(session: AsyncSession, calendar: WorkdayCalendar, moment: datetime) -> int:
    # 三(三): once every party's window has lapsed or been waived, with no application standing, the result is final.
    cases = (
        await session.scalars(
            select(Case).where(Case.state == CaseState.RESULT_NOTIFIED, Case.reinspection_deadline.is_not(None))
        )
    ).all()
    finalized = 0
    for case in cases:
        announced = await announce_unreached(session, case)
        if announced:
            await append_audit_many(
                session,
                [
                    AuditEntry(_SWEEPER, "case.announced_unreached", case.id, {"messages": [m.id for m in announced]}),
                    *(message_entry("out", m.id, m.timestamp, m.body, actor=_SWEEPER) for m in announced),
                ],
            )
        windows = await refresh_windows(session, case, calendar)
        settle_lapsed_windows(windows, moment)
        if not windows or unsettled_windows(windows):
            continue
        standing = await session.scalar(
            select(ReinspectionApplication.id).where(
                ReinspectionApplication.case_id == case.id,
                or_(ReinspectionApplication.decision.is_(None), ReinspectionApplication.decision == "accepted"),
            )
        )
        if standing is not None:
            continue
        case.state = CaseState.FINAL
        case.final_at = moment
        parties = {w.party: w.status for w in windows}
        session.add(
            CaseEvent(
                case_id=case.id,
                action="finalize",
                from_state=CaseState.RESULT_NOTIFIED,
                to_state=CaseState.FINAL,
                actor=_SWEEPER,
                detail={"by_deadline": True, "windows": parties, "basis": basis("三(三)")},
            )
        )
        await append_audit(
            session,
            actor=_SWEEPER,
            action="case.finalize",
            subject=case.id,
            detail={"by_deadline": True, "windows": parties},
        )
        finalized += 1
    return finalized


@dataclass(frozen=True)
class Compliance:
    """A platform's answer record: its deadlines by outcome and the 拖延 findings against it (五(三))."""

    platform_id: str
    total: int
    met: int
    met_late: int
    overdue: int
    delays: int
    findings: list[PlatformFinding]


class DeadlineService:
    """What the deadline API does for one regulator: list the clocks it may see, sweep now, read events."""

    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        calendar: WorkdayCalendar,
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.principal = principal
        self.calendar = calendar
        self._wake_outbox = wake_outbox

    async def open_deadlines(self, *, status: str = "all") -> list[DeadlineReading]:
        """Deadlines still awaited on cases this principal may see, most urgent first."""
        readings = await query_deadlines(self.session, self.calendar, status=status)
        visible: list[DeadlineReading] = []
        for reading in readings:
            case = await self.session.get(Case, reading.deadline.case_id)
            if case is not None and self.principal.can_access_case(case):
                visible.append(reading)
        return visible

    async def findings(self, *, platform_id: str | None = None) -> list[PlatformFinding]:
        """Findings against platforms (拖延) on cases this principal may see, newest first."""
        query = select(PlatformFinding).order_by(PlatformFinding.found_at.desc())
        if platform_id is not None:
            query = query.where(PlatformFinding.platform_id == platform_id)
        visible: list[PlatformFinding] = []
        for row in await self.session.scalars(query):
            case = await self.session.get(Case, row.case_id)
            if case is not None and self.principal.can_access_case(case):
                visible.append(row)
        return visible

    async def compliance(self, platform_id: str) -> Compliance:
        """A platform's compliance figures on the cases this principal may see (404 for an unknown platform)."""
        if await self.session.get(Platform, platform_id) is None:
            raise ProblemError(404, "not-found", f"no such platform: {platform_id}")
        rows = await self.session.scalars(
            select(Deadline).where(
                Deadline.party == f"platform:{platform_id}",
                Deadline.kind.in_((DeadlineKind.PLATFORM_ANSWER, DeadlineKind.PLATFORM_ACKNOWLEDGEMENT)),
            )
        )
        counts = dict.fromkeys(("total", "met", "met_late", "overdue"), 0)
        for row in rows:
            case = await self.session.get(Case, row.case_id)
            if case is None or not self.principal.can_access_case(case):
                continue
            counts["total"] += 1
            if row.status in (DeadlineStatus.MET, DeadlineStatus.MET_LATE):
                counts[str(row.status)] += 1
            elif row.status in _UNSETTLED and row.due_at < utcnow():
                counts["overdue"] += 1
        findings = await self.findings(platform_id=platform_id)
        return Compliance(platform_id=platform_id, findings=findings, delays=len(findings), **counts)

    async def sweep(self) -> dict[str, int]:
        """Escalate and finalize now (admin scope), in a transaction of its own that this call commits."""
        self.principal.require_scope("admin")
        result = await sweep_deadlines(self.session, self.calendar)
        await self.session.commit()
        if self._wake_outbox is not None and result["escalated"] + result["findings"]:
            self._wake_outbox()  # the reminders are in the outbox
        return result

    async def events(self, *, limit: int = 100) -> list[OperationalEvent]:
        """The latest operational events (escalations, disabled endpoints, dead letters) this principal may see.

        Events of no case concern every regulator. The jurisdiction is filtered in SQL, before the ``limit``.
        """
        visible_case = OperationalEvent.case_id.in_(select(Case.id).where(visible_cases(self.principal)))
        rows = await self.session.scalars(
            select(OperationalEvent)
            .where(or_(OperationalEvent.case_id.is_(None), visible_case))
            .order_by(OperationalEvent.id.desc())
            .limit(limit)
        )
        return list(rows)
