"""Reading and sweeping deadlines: urgency for views, escalation of overdue platform answers, automatic finality."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.deadlines.schemas import DeadlineView
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Case, CaseEvent, Deadline, OperationalEvent, ReinspectionApplication
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.workdays import Deadline as Clock
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = ["deadline_view", "list_open_deadlines", "query_deadlines", "sweep_deadlines"]


def deadline_view(row: Deadline, now: datetime, calendar: WorkdayCalendar) -> DeadlineView:
    """A deadline row with its urgency at ``now``."""
    urgency: Literal["ok", "due_soon", "overdue", "met"]
    if row.status in {"met", "met_late", "lapsed"}:
        urgency = "met"
    else:
        clock = Clock(due_at=row.due_at, provisional=row.provisional, rule=row.rule, basis=row.basis)
        urgency = clock.status(now, calendar=calendar)
    return DeadlineView(
        id=row.id,
        case_id=row.case_id,
        kind=row.kind,
        party=row.party,
        due_at=row.due_at,
        provisional=row.provisional,
        rule=row.rule,
        basis=row.basis,
        status=row.status,
        urgency=urgency,
        message_id=row.message_id,
    )


async def query_deadlines(
    session: AsyncSession, calendar: WorkdayCalendar, *, status: str = "all", now: datetime | None = None
) -> list[DeadlineView]:
    """Open deadlines, most urgent first; ``status`` filters to ``overdue`` or ``due-soon``."""
    moment = now or utcnow()
    rows = await session.scalars(
        select(Deadline).where(Deadline.status.in_(("open", "escalated"))).order_by(Deadline.due_at)
    )
    views = [deadline_view(r, moment, calendar) for r in rows]
    wanted = {"overdue": "overdue", "due-soon": "due_soon"}.get(status)
    return [v for v in views if wanted is None or v.urgency == wanted]


async def list_open_deadlines(settings: Settings, *, status: str) -> list[DeadlineView]:
    """The CLI's view: opens the store, sweeps, lists."""
    from spotcheck.gateway.runtime import Runtime  # noqa: PLC0415 - avoids an import cycle

    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session:
            await sweep_deadlines(session, runtime.calendar)
            await session.commit()
            return await query_deadlines(session, runtime.calendar, status=status)
    finally:
        await runtime.stop()


async def sweep_deadlines(
    session: AsyncSession, calendar: WorkdayCalendar, *, now: datetime | None = None
) -> dict[str, int]:
    """Escalate overdue platform answers and make results final whose re-inspection window passed unused.

    Idempotent: an escalated deadline is not escalated twice; the caller commits.
    """
    moment = now or utcnow()
    escalated = 0
    finalized = 0
    overdue = await session.scalars(select(Deadline).where(Deadline.status == "open", Deadline.due_at < moment))
    for row in overdue:
        if row.kind == "reinspection_application":
            continue
        row.status = "escalated"
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
            actor="system:deadlines",
            action="deadline.escalated",
            subject=row.id,
            detail={"case_id": row.case_id, "kind": row.kind, "party": row.party},
        )
        escalated += 1
    # 三(三): with no application inside the window the result becomes final by itself.
    cases = await session.scalars(
        select(Case).where(Case.state == CaseState.RESULT_NOTIFIED.value, Case.reinspection_deadline < moment)
    )
    for case in cases:
        pending = await session.scalar(
            select(ReinspectionApplication.id).where(ReinspectionApplication.case_id == case.id)
        )
        if pending is not None:
            continue
        case.state = CaseState.FINAL.value
        case.final_at = moment
        session.add(
            CaseEvent(
                case_id=case.id,
                action="finalize",
                from_state=CaseState.RESULT_NOTIFIED.value,
                to_state=CaseState.FINAL.value,
                actor="system:deadlines",
                detail={"by_deadline": True, "basis": "工商消字〔2015〕189号 三(三)"},
            )
        )
        await append_audit(
            session, actor="system:deadlines", action="case.finalize", subject=case.id, detail={"by_deadline": True}
        )
        for row in await session.scalars(
            select(Deadline).where(
                Deadline.case_id == case.id, Deadline.kind == "reinspection_application", Deadline.status == "open"
            )
        ):
            row.status = "lapsed"
            row.met_at = moment
        finalized += 1
    return {"escalated": escalated, "finalized": finalized}
