"""Reading cases for one regulator: a case with its clocks and allowed actions, lists, history and notices.

Every read goes through :func:`load_case`, so an unknown case answers 404 and another jurisdiction's 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.lifecycle import CaseState, allowed_actions
from spotcheck.gateway.deadlines.service import DeadlineReading, read_deadline
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, CaseEvent, Deadline, OutboundMessage
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = ["CaseDetail", "CaseQueries", "load_case", "read_case"]


@dataclass(frozen=True)
class CaseDetail:
    """A case as it stands: the row and every clock on it, earliest first, read at one moment."""

    case: Case
    deadlines: list[DeadlineReading]

    @property
    def allowed_actions(self) -> list[str]:
        """The actions the case's state allows, in lifecycle order."""
        return allowed_actions(CaseState(self.case.state))


async def load_case(session: AsyncSession, principal: Principal, case_id: str) -> Case:
    """The case, if ``principal`` may see it (404 when unknown, 403 when outside its jurisdiction)."""
    structlog.contextvars.bind_contextvars(case_id=case_id)
    case = await session.get(Case, case_id)
    if case is None:
        raise ProblemError(404, "not-found", f"no such case: {case_id}")
    if not principal.can_access_case(case):
        raise ProblemError(403, "outside-jurisdiction", f"case {case_id} is outside this authority's jurisdiction")
    return case


async def read_case(
    session: AsyncSession, case: Case, calendar: WorkdayCalendar, *, now: datetime | None = None
) -> CaseDetail:
    """``case`` with its deadlines and their urgency at ``now``."""
    moment = now or utcnow()
    rows = await session.scalars(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_at))
    return CaseDetail(case, [read_deadline(row, moment, calendar) for row in rows])


class CaseQueries:
    """Read-only questions about cases, answered for one principal."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.calendar = runtime.calendar

    async def detail(self, case_id: str) -> CaseDetail:
        """One case with its deadlines and allowed actions."""
        return await read_case(self.session, await load_case(self.session, self.principal, case_id), self.calendar)

    async def cases(self, *, in_state: str | None = None, limit: int = 50) -> list[CaseDetail]:
        """Cases this principal may see, newest first; ``limit`` (clamped to 1..200) counts before that filter."""
        query = select(Case).order_by(Case.id.desc()).limit(max(1, min(limit, 200)))
        if in_state:
            query = query.where(Case.state == in_state)
        rows = (await self.session.scalars(query)).all()
        return [await read_case(self.session, c, self.calendar) for c in rows if self.principal.can_access_case(c)]

    async def events(self, case_id: str) -> list[CaseEvent]:
        """Every step taken on the case, in order."""
        await load_case(self.session, self.principal, case_id)
        rows = await self.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        return list(rows)

    async def messages(self, case_id: str) -> list[OutboundMessage]:
        """Every notice sent on the case, in the order it was written to the outbox."""
        await load_case(self.session, self.principal, case_id)
        rows = await self.session.scalars(
            select(OutboundMessage).where(OutboundMessage.case_id == case_id).order_by(OutboundMessage.id)
        )
        return list(rows)
