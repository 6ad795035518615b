"""Reading cases for one regulator: a case with its clocks and allowed actions, lists, history and notices.

Every read goes through :func:`load_case`, so an unknown case answers 404 and another jurisdiction's 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, visible_cases
from spotcheck.gateway.cases.lifecycle import CaseFacts, CaseState, possible_actions
from spotcheck.gateway.deadlines.service import DeadlineReading, read_deadline, with_missing
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    Authority,
    Case,
    CaseEvent,
    Deadline,
    Manufacturer,
    Merchant,
    OutboundMessage,
    Platform,
    ReinspectionApplication,
)
from spotcheck.gateway.store.statuses import DeadlineKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = ["CaseDetail", "CaseParties", "CaseQueries", "load_case", "load_case_with_parties", "read_case"]


@dataclass(frozen=True)
class CaseDetail:
    """A case as it stands: the row, every clock on it (earliest first) and what decides its possible actions."""

    case: Case
    deadlines: list[DeadlineReading]
    facts: CaseFacts

    @property
    def allowed_actions(self) -> list[str]:
        """The actions that can succeed for this case now (state and guards), in lifecycle order."""
        return possible_actions(self.facts)


async def load_case(session: AsyncSession, principal: Principal, case_id: str) -> Case:
    """The case, if ``principal`` may see it (404 when unknown, 403 when outside its jurisdiction)."""
    structlog.contextvars.bind_contextvars(case_id=case_id)
    case = await session.get(Case, case_id)
    if case is None:
        raise ProblemError(404, "not-found", f"no such case: {case_id}")
    if not principal.can_access_case(case):
        raise ProblemError(403, "outside-jurisdiction", f"case {case_id} is outside this authority's jurisdiction")
    return case


@dataclass(frozen=True)
class CaseParties:
    """A case's merchant, platform and manufacturer, and the authority over the platform's province (its id).

    Read with the case in one query by :func:`load_case_with_parties`; holding them keeps them in the session's
    identity map, so later ``session.get`` calls for them are answered without asking the database.
    """

    merchant: Merchant | None
    platform: Platform | None
    manufacturer: Manufacturer | None
    platform_province_authority: str | None
    """The id of the authority whose division is the platform's province (None: no platform, or no such authority)."""


# The reads of every case view, built once with the case bound per request: building a four-table join with a
# subquery cost more than running it.
_PROVINCE_AUTHORITY = (
    select(Authority.id)
    .where(Authority.division_code == func.substr(Platform.province_code, 1, 2).concat("0000"))
    .limit(1)
    .scalar_subquery()
)
_CASE_WITH_PARTIES = (
    select(Case, Merchant, Platform, Manufacturer, _PROVINCE_AUTHORITY)
    .outerjoin(Merchant, Merchant.id == Case.merchant_id)
    .outerjoin(Platform, Platform.id == Case.platform_id)
    .outerjoin(Manufacturer, Manufacturer.id == Case.manufacturer_id)
    .where(Case.id == bindparam("case_id"))
)
_CASE_DEADLINES = select(Deadline).where(Deadline.case_id == bindparam("case_id")).order_by(Deadline.due_at)


async def load_case_with_parties(session: AsyncSession, principal: Principal, case_id: str) -> tuple[Case, CaseParties]:
    """As :func:`load_case` (404 unknown, 403 outside the jurisdiction), with the case's parties in the same query."""
    structlog.contextvars.bind_contextvars(case_id=case_id)
    found = (await session.execute(_CASE_WITH_PARTIES, {"case_id": case_id})).first()
    if found is None:
        raise ProblemError(404, "not-found", f"no such case: {case_id}")
    case, merchant, platform, manufacturer, authority_id = found
    if not principal.can_access_case(case):
        raise ProblemError(403, "outside-jurisdiction", f"case {case_id} is outside this authority's jurisdiction")
    return case, CaseParties(merchant, platform, manufacturer, authority_id if platform is not None else None)


async def read_case(
    session: AsyncSession,
    case: Case,
    calendar: WorkdayCalendar,
    *,
    now: datetime | None = None,
    parties: CaseParties | None = None,
    decisions: Sequence[str | None] | None = None,
) -> CaseDetail:
    """``case`` with its deadlines and their urgency at ``now``.

    ``parties`` (from :func:`load_case_with_parties`) and ``decisions`` (the decisions of the case's re-inspection
    applications, None for one undecided) are what a caller that already read them passes, so they are not read
    again.
    """
    moment = now or utcnow()
    rows = await session.scalars(_CASE_DEADLINES, {"case_id": case.id})
    readings = [await with_missing(session, read_deadline(row, moment, calendar)) for row in rows]
    return CaseDetail(case, readings, await _facts(session, case, readings, parties, decisions))


async def _facts(
    session: AsyncSession,
    case: Case,
    readings: list[DeadlineReading],
    parties: CaseParties | None = None,
    known_decisions: Sequence[str | None] | None = None,
) -> CaseFacts:
    merchant = parties.merchant if parties is not None else await session.get(Merchant, case.merchant_id)
    if known_decisions is not None:
        decisions = list(known_decisions)
    else:
        decisions = list(
            await session.scalars(
                select(ReinspectionApplication.decision).where(ReinspectionApplication.case_id == case.id)
            )
        )

    def unsettled(kind: DeadlineKind) -> bool:
        return any(r.deadline.kind == kind and r.urgency != "met" for r in readings)

    # A window past its end (its party's receipt known) is closed even before the sweep marks it lapsed.
    now = utcnow()
    windows_open = any(
        r.deadline.kind == DeadlineKind.REINSPECTION_APPLICATION
        and r.urgency != "met"
        and (r.deadline.provisional or r.deadline.due_at >= now)
        for r in readings
    )
    transfer_target = False
    if parties is not None:
        target = parties.platform_province_authority
        transfer_target = target is not None and target != case.authority_id
    elif case.platform_id is not None:
        platform = await session.get(Platform, case.platform_id)
        if platform is not None:
            target = await session.scalar(
                select(Authority.id).where(Authority.division_code == platform.province_code[:2] + "0000")
            )
            transfer_target = target is not None and target != case.authority_id

    failing = case.conclusion == "fail"
    return CaseFacts(
        state=CaseState(case.state),
        has_platform=case.platform_id is not None,
        has_manufacturer=case.manufacturer_id is not None,
        failing=failing,
        hazardous=failing and case.hazardous,
        listable=failing and case.hazardous and case.mandatory_standard_failed,
        merchant_unreachable=merchant is not None and merchant.unreachable_since is not None,
        open_windows=windows_open,
        pending_application=None in decisions,
        accepted_application="accepted" in decisions,
        hazard_task_open=unsettled(DeadlineKind.HAZARD_NOTIFICATION),
        transfer_target=transfer_target,
    )


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
        """The newest ``limit`` cases this principal may see (jurisdiction filtered in SQL, before the limit)."""
        query = select(Case).where(visible_cases(self.principal)).order_by(Case.id.desc()).limit(limit)
        if in_state:
            query = query.where(Case.state == in_state)
        rows = (await self.session.scalars(query)).all()
        return [await read_case(self.session, c, self.calendar) for c in rows]

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
