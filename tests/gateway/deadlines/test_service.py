"""The deadline service without HTTP: the sweep in the caller's transaction, the API's view of it, visibility."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from spotcheck.gateway.access import Principal
from spotcheck.gateway.deadlines.service import DeadlineService, list_open_deadlines, read_deadline, sweep_deadlines
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    AuditRecord,
    Case,
    CaseEvent,
    Deadline,
    Merchant,
    OperationalEvent,
    Platform,
    ReinspectionApplication,
)
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)


@dataclass
class Clocks:
    """Two Zhejiang cases with lapsed clocks: an unanswered platform request and an unused re-inspection window."""

    answer_case: str
    answer: str
    window_case: str
    window: str


def _deadline(case: Case, kind: DeadlineKind, party: str, due_at: datetime) -> Deadline:
    return Deadline(
        id=new_id("dl"),
        case_id=case.id,
        **case.scope(),
        kind=kind,
        party=party,
        due_at=due_at,
        provisional=False,
        rule="test",
        basis="test",
        status=DeadlineStatus.OPEN,
    )


@pytest.fixture
async def clocks(runtime: Runtime, regulator: Callable[..., Awaitable[Principal]]) -> Clocks:
    zj = await regulator("330000")
    async with runtime.sessions() as session, session.begin():
        session.add(Platform(id="tmall-test", name="天猫", province_code="330000"))
        await session.flush()  # no ORM relationships order the inserts: the merchant refers to the platform
        merchant = Merchant(
            id=new_id("mer"), platform_id="tmall-test", shop_id="s", shop_name="店", kind="natural_person"
        )
        session.add(merchant)
        await session.flush()
        cases = [
            Case(
                id=new_id("case"),
                authority_id=zj.authority_id,
                jurisdiction_division="330000",
                jurisdiction_basis="二",
                state=state,
                platform_id="tmall-test",
                merchant_id=merchant.id,
                sample_name="插座",
                trademark="公牛",
                spec_model="GN-1",
                conclusion="fail",
                reinspection_deadline=NOW - timedelta(hours=1) if state == CaseState.RESULT_NOTIFIED else None,
                measures=[],
            )
            for state in (CaseState.SAMPLING_NOTIFIED, CaseState.RESULT_NOTIFIED)
        ]
        session.add_all(cases)
        await session.flush()
        answer = _deadline(cases[0], DeadlineKind.PLATFORM_ANSWER, "platform:tmall-test", NOW - timedelta(hours=2))
        window = _deadline(cases[1], DeadlineKind.REINSPECTION_APPLICATION, "merchant", NOW - timedelta(hours=1))
        session.add_all([answer, window])
    return Clocks(cases[0].id, answer.id, cases[1].id, window.id)


async def test_the_sweep_works_inside_the_callers_transaction(runtime: Runtime, clocks: Clocks) -> None:
    async with runtime.sessions() as session:
        assert await sweep_deadlines(session, runtime.calendar) == {"escalated": 1, "findings": 0, "finalized": 1}
        await session.rollback()  # the scheduler's transaction may fail after the sweep: nothing may stick
    async with runtime.sessions() as session, session.begin():
        assert (await session.get(Deadline, clocks.answer)).status == "open"  # type: ignore[union-attr]
        assert await sweep_deadlines(session, runtime.calendar) == {"escalated": 1, "findings": 0, "finalized": 1}
    async with runtime.sessions() as session, session.begin():
        assert await sweep_deadlines(session, runtime.calendar) == {"escalated": 0, "findings": 0, "finalized": 0}
    async with runtime.sessions() as session:
        answer = await session.get(Deadline, clocks.answer)
        window = await session.get(Deadline, clocks.window)
        final = await session.get(Case, clocks.window_case)
        assert answer is not None and window is not None and final is not None
        assert (answer.status, window.status, final.state) == ("escalated", "lapsed", "final")
        [event] = await session.scalars(select(OperationalEvent))
        assert (event.kind, event.case_id, event.platform_id) == (
            "overdue.platform_answer",
            clocks.answer_case,
            "tmall-test",
        )
        step = await session.scalar(select(CaseEvent).where(CaseEvent.case_id == clocks.window_case))
        assert step is not None
        assert step.detail == {
            "by_deadline": True,
            "windows": {"merchant": "lapsed"},
            "basis": "工商消字〔2015〕189号 三(三)",
        }
        audited = (await session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq))).all()
        assert audited == ["deadline.escalated", "case.finalize"]


async def test_a_window_with_an_application_is_not_finalized(runtime: Runtime, clocks: Clocks) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add(
            ReinspectionApplication(
                id=new_id("rei"),
                case_id=clocks.window_case,
                applicant_role="merchant",
                applicant_name="店主",
                applied_at=NOW - timedelta(hours=3),
                received_via="direct",
                reason="有异议",
            )
        )
    async with runtime.sessions() as session, session.begin():
        assert await sweep_deadlines(session, runtime.calendar) == {"escalated": 1, "findings": 0, "finalized": 0}


async def test_the_api_sweep_needs_the_admin_scope_and_commits(
    runtime: Runtime, clocks: Clocks, regulator: Callable[..., Awaitable[Principal]]
) -> None:
    writer = await regulator("330000", scopes=("read", "write"))
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as refused:
            await DeadlineService(session, writer, runtime.calendar).sweep()
    assert (refused.value.status_code, refused.value.code) == (403, "insufficient-scope")
    admin = await regulator("330000")
    async with runtime.sessions() as session:
        assert await DeadlineService(session, admin, runtime.calendar).sweep() == {
            "escalated": 1,
            "findings": 0,
            "finalized": 1,
        }
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OperationalEvent)) == 1


async def test_deadlines_and_events_are_those_of_cases_the_principal_may_see(
    runtime: Runtime, clocks: Clocks, regulator: Callable[..., Awaitable[Principal]]
) -> None:
    zj = await regulator("330000")
    gd = await regulator("440000")
    async with runtime.sessions() as session:
        own = await DeadlineService(session, zj, runtime.calendar).open_deadlines()
        assert [r.deadline.id for r in own] == [clocks.answer, clocks.window]  # most urgent first
        assert {r.urgency for r in own} == {"overdue"}
        assert await DeadlineService(session, gd, runtime.calendar).open_deadlines() == []
        assert await DeadlineService(session, zj, runtime.calendar).open_deadlines(status="due-soon") == []
    async with runtime.sessions() as session, session.begin():
        await sweep_deadlines(session, runtime.calendar)
        session.add(OperationalEvent(id=new_id("evt"), kind="endpoint.disabled", detail={}))
    async with runtime.sessions() as session:
        seen_by_zj = [e.kind for e in await DeadlineService(session, zj, runtime.calendar).events()]
        seen_by_gd = [e.kind for e in await DeadlineService(session, gd, runtime.calendar).events()]
    assert sorted(seen_by_zj) == ["endpoint.disabled", "overdue.platform_answer"]
    assert seen_by_gd == ["endpoint.disabled"]  # an event of no case concerns every regulator


async def test_settled_clocks_read_as_met_and_the_cli_lists_what_is_still_awaited(
    runtime: Runtime, clocks: Clocks
) -> None:
    async with runtime.sessions() as session:
        answer = await session.get(Deadline, clocks.answer)
        assert answer is not None
        assert read_deadline(answer, NOW, runtime.calendar).urgency == "overdue"
        answer.status = DeadlineStatus.MET_LATE
        assert read_deadline(answer, NOW, runtime.calendar).urgency == "met"
    listed = await list_open_deadlines(runtime.settings, status="overdue")
    # The CLI sweeps first: the answer is escalated (still awaited), the lapsed window is settled.
    assert [(d.id, d.status) for d in listed] == [(clocks.answer, "escalated")]
