"""The dashboard's queries against hand-built data: pressing deadlines, states, notices, platform compliance.

Each figure is computed by hand from the rows a test writes, on SQLite and on the real PostgreSQL (where the
median is an ordered-set aggregate instead of Python's).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.access import BoundScope, Principal, scope_clause, visible_cases
from spotcheck.gateway.console.attention import (
    cases_by_state,
    deadline_overview,
    due_soon_until,
    notice_backlog,
    rule_label,
)
from spotcheck.gateway.console.compliance import WEEKS, format_duration, platform_compliance
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Authority, Case, Deadline, Entrustment, Merchant, OutboundMessage, Platform
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus, MessageStatus
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.workdays import SHANGHAI

pytestmark = pytest.mark.postgres

Regulator = Callable[..., Awaitable[Principal]]
# A Monday morning in Beijing; every row is placed relative to it.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
_serial = itertools.count()


class Store:
    """Writes cases, clocks and notices straight into the store, in a province of choice, relative to ``now``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now: datetime = NOW) -> None:
        self.sessions = sessions
        self.now = now
        self.merchants: dict[str, str] = {}

    async def platform(self, platform_id: str, name: str, *, shop: str | None = None) -> None:
        async with self.sessions() as session, session.begin():
            session.add(Platform(id=platform_id, name=name, province_code="330000"))
            await session.flush()
            merchant = Merchant(
                id=new_id("mer"),
                platform_id=platform_id,
                shop_id="s",
                shop_name=shop or f"{name}店",
                kind="natural_person",
            )
            session.add(merchant)
            self.merchants[platform_id] = merchant.id

    async def case(
        self, authority_id: str, division: str, platform_id: str, *, state: CaseState = CaseState.SAMPLING_NOTIFIED
    ) -> str:
        case_id = new_id("case")
        async with self.sessions() as session, session.begin():
            session.add(
                Case(
                    id=case_id,
                    authority_id=authority_id,
                    jurisdiction_division=division,
                    jurisdiction_basis="二",
                    state=state,
                    platform_id=platform_id,
                    merchant_id=self.merchants[platform_id],
                    sample_name=f"插座{next(_serial)}",
                    trademark="公牛",
                    spec_model="GN-1",
                )
            )
        return case_id

    async def clock(
        self,
        case_id: str,
        *,
        issued: timedelta,
        due: timedelta,
        answered: timedelta | None = None,
        kind: DeadlineKind = DeadlineKind.PLATFORM_ANSWER,
        party: str = "",
        status: DeadlineStatus | None = None,
    ) -> None:
        """A clock issued ``issued`` before NOW, due ``due`` after NOW (negative: past), answered at NOW + answered."""
        due_at = self.now + due
        met_at = self.now + answered if answered is not None else None
        if status is None:
            status = (
                DeadlineStatus.OPEN
                if met_at is None
                else (DeadlineStatus.MET if met_at <= due_at else DeadlineStatus.MET_LATE)
            )
        async with self.sessions() as session, session.begin():
            case = await session.get(Case, case_id)
            assert case is not None
            session.add(
                Deadline(
                    id=new_id("dl"),
                    case_id=case_id,
                    **case.scope(),
                    kind=kind,
                    party=party or f"platform:{case.platform_id}",
                    due_at=due_at,
                    provisional=False,
                    rule="2 working days",
                    basis="工商消字〔2015〕189号 五(三); platform answer SLA",
                    status=status,
                    met_at=met_at,
                    created_at=self.now - issued,
                )
            )

    async def notice(self, case_id: str | None, status: MessageStatus, recipient: str = "tmall") -> None:
        async with self.sessions() as session, session.begin():
            case = await session.get(Case, case_id) if case_id is not None else None
            session.add(
                OutboundMessage(
                    id=new_id("msg"),
                    case_id=case_id,
                    **(case.scope() if case is not None else {}),
                    message_type="sampling.notice",
                    recipient_kind="platform",
                    recipient_id=recipient,
                    recipient_name=f"{recipient} 网络有限公司",
                    adapter="webhook",
                    destination={},
                    body=b"{}",
                    timestamp=0,
                    status=status,
                )
            )


@pytest.fixture
async def store(runtime: Runtime) -> Store:
    built = Store(runtime.sessions)
    await built.platform("tmall", "天猫")
    await built.platform("jd", "京东")
    return built


async def test_compliance_share_and_median_counted_by_hand(
    runtime: Runtime, regulator: Regulator, store: Store
) -> None:
    zj, js = await regulator("330000"), await regulator("320000")
    case = await store.case(zj.authority_id, "330000", "tmall")
    # tmall, last 30 days: one order answered on time in 1 h, one answered late after 8 days -> 50 %, median 4 d 0.5 h.
    await store.clock(case, issued=timedelta(days=10), due=timedelta(days=-8), answered=timedelta(days=-10, hours=1))
    await store.clock(case, issued=timedelta(days=20), due=timedelta(days=-18), answered=timedelta(days=-12))
    # 60 days ago, on time in 3 h: the 90-day window only.
    await store.clock(case, issued=timedelta(days=60), due=timedelta(days=-58), answered=timedelta(days=-60, hours=3))
    # Issued yesterday, not due yet and unanswered: not decided anywhere.
    await store.clock(case, issued=timedelta(days=1), due=timedelta(days=1))
    # 100 days ago: outside every window.
    await store.clock(case, issued=timedelta(days=100), due=timedelta(days=-98), answered=timedelta(days=-90))
    # A result-notice clock is the regulator's own, not a platform's answer.
    await store.clock(case, issued=timedelta(days=5), due=timedelta(days=-1), kind=DeadlineKind.RESULT_NOTICE)
    # jd: one request past due, never answered (escalated) -> 0 %, no median.
    jd_case = await store.case(zj.authority_id, "330100", "jd")
    await store.clock(jd_case, issued=timedelta(days=5), due=timedelta(days=-2), status=DeadlineStatus.ESCALATED)
    # Jiangsu's late answer by tmall is not Zhejiang's to count.
    js_case = await store.case(js.authority_id, "320000", "tmall")
    await store.clock(js_case, issued=timedelta(days=3), due=timedelta(days=-2), answered=timedelta(days=-1))

    async with runtime.sessions() as session:
        figures = {p.platform_id: p for p in await platform_compliance(session, zj, now=NOW)}
        jiangsu = {p.platform_id: p for p in await platform_compliance(session, js, now=NOW)}

    tmall = figures["tmall"]
    assert tmall.platform_name == "天猫"
    assert (tmall.last_30.decided, tmall.last_30.on_time, tmall.last_30.percent) == (2, 1, "50%")
    assert tmall.last_30.median_answer == timedelta(days=4, minutes=30)
    assert (tmall.last_90.decided, tmall.last_90.on_time) == (3, 2)
    assert tmall.last_90.median_answer == timedelta(hours=3)  # median of 1 h, 3 h, 8 d
    jd = figures["jd"]
    assert (jd.last_30.decided, jd.last_30.on_time, jd.last_30.percent) == (1, 0, "0%")
    assert jd.last_30.median_answer is None
    # Worst first: jd at 0 % before tmall at 67 %.
    assert list(figures) == ["jd", "tmall"]

    assert len(tmall.weekly) == WEEKS
    # Issued 10 days ago is the second week back, 20 days ago the third, 60 days ago the ninth.
    assert (tmall.weekly[-2].decided, tmall.weekly[-2].on_time) == (1, 1)
    assert (tmall.weekly[-3].decided, tmall.weekly[-3].on_time) == (1, 0)
    assert (tmall.weekly[-9].decided, tmall.weekly[-9].on_time) == (1, 1)
    assert sum(week.decided for week in tmall.weekly) == 3

    assert list(jiangsu) == ["tmall"]
    assert (jiangsu["tmall"].last_30.decided, jiangsu["tmall"].last_30.on_time) == (1, 0)


async def test_deadline_overview_counts_lists_and_basis(runtime: Runtime, regulator: Regulator, store: Store) -> None:
    zj, js = await regulator("330000"), await regulator("320000")
    case = await store.case(zj.authority_id, "330000", "tmall")
    await store.clock(case, issued=timedelta(days=5), due=timedelta(days=-2))  # overdue
    await store.clock(case, issued=timedelta(days=5), due=timedelta(hours=-1), status=DeadlineStatus.ESCALATED)
    await store.clock(case, issued=timedelta(days=1), due=timedelta(hours=10))  # today 20:00: due soon
    await store.clock(case, issued=timedelta(days=1), due=timedelta(days=1, hours=13))  # tomorrow 23:00
    await store.clock(case, issued=timedelta(days=1), due=timedelta(days=-1), answered=timedelta(days=-1, hours=-1))
    other = await store.case(js.authority_id, "320000", "tmall")
    await store.clock(other, issued=timedelta(days=5), due=timedelta(days=-2))

    async with runtime.sessions() as session:
        one_day = await deadline_overview(session, zj, runtime.calendar, now=NOW)
        two_days = await deadline_overview(session, zj, runtime.calendar, now=NOW, working_days=2)
        no_warning = await deadline_overview(session, zj, runtime.calendar, now=NOW, working_days=0)
        jiangsu = await deadline_overview(session, js, runtime.calendar, now=NOW)

    assert (one_day.overdue_count, one_day.due_soon_count) == (2, 1)
    assert [item.due_at for item in one_day.overdue] == [NOW - timedelta(days=2), NOW - timedelta(hours=1)]
    first = one_day.overdue[0]
    assert first.basis == "工商消字〔2015〕189号 五(三); platform answer SLA"
    assert (first.kind_label, first.urgency, first.shop_name) == ("平台答复", "overdue", "天猫店")
    assert one_day.due_soon[0].due_at == NOW + timedelta(hours=10)
    assert (two_days.overdue_count, two_days.due_soon_count) == (2, 2)
    # No warning at all: nothing is due soon, and the overdue clocks are the same.
    assert (no_warning.overdue_count, no_warning.due_soon_count, no_warning.due_soon) == (2, 0, [])
    assert [item.due_at for item in no_warning.overdue] == [item.due_at for item in one_day.overdue]
    assert (jiangsu.overdue_count, jiangsu.due_soon_count) == (1, 0)


def test_due_soon_until_follows_the_working_day_clock() -> None:
    from spotcheck.gateway.workdays import default_calendar

    calendar = default_calendar()
    # Monday: one working day of warning covers today only; two cover Tuesday.
    assert due_soon_until(NOW, calendar, 1) == datetime(2026, 12, 7, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert due_soon_until(NOW, calendar, 2) == datetime(2026, 12, 8, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    # Friday: one working day's warning reaches over the weekend only from Friday night on.
    friday = datetime(2026, 12, 11, 10, 0, tzinfo=SHANGHAI)
    assert due_soon_until(friday, calendar, 1) == datetime(2026, 12, 11, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=SHANGHAI)
    assert due_soon_until(saturday, calendar, 1) == datetime(2026, 12, 14, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert due_soon_until(NOW, calendar, 0) is None


async def test_cases_by_state_and_notice_backlog_stay_in_the_jurisdiction(
    runtime: Runtime, regulator: Regulator, store: Store
) -> None:
    zj, js = await regulator("330000"), await regulator("320000")
    planned = await store.case(zj.authority_id, "330000", "tmall", state=CaseState.PLANNED)
    await store.case(zj.authority_id, "330100", "tmall", state=CaseState.PLANNED)
    published = await store.case(zj.authority_id, "330000", "jd", state=CaseState.PUBLISHED)
    foreign = await store.case(js.authority_id, "320000", "tmall", state=CaseState.PLANNED)
    await store.notice(planned, MessageStatus.PENDING)
    await store.notice(planned, MessageStatus.DELIVERING)
    await store.notice(planned, MessageStatus.DELIVERED)
    await store.notice(published, MessageStatus.DEAD, recipient="jd")
    await store.notice(None, MessageStatus.DEAD, recipient="jd")  # about no case: every regulator's concern
    await store.notice(foreign, MessageStatus.DEAD)
    await store.notice(foreign, MessageStatus.PENDING)

    async with runtime.sessions() as session:
        states = {s.state: s for s in await cases_by_state(session, zj)}
        backlog = await notice_backlog(session, zj)
        js_backlog = await notice_backlog(session, js)

    assert list(states) == list(CaseState)
    assert (states[CaseState.PLANNED].count, states[CaseState.PLANNED].label) == (2, "已立案")
    assert states[CaseState.PUBLISHED].count == 1
    assert sum(s.count for s in states.values()) == 3
    assert [(b.recipient_id, b.undelivered, b.dead, b.platform_id) for b in backlog] == [
        ("jd", 0, 2, "jd"),
        ("tmall", 2, 0, "tmall"),
    ]
    assert [(b.recipient_id, b.undelivered, b.dead) for b in js_backlog] == [("tmall", 1, 1), ("jd", 0, 1)]


async def test_visible_cases_in_sql_is_can_access_case(runtime: Runtime, regulator: Regulator, store: Store) -> None:
    nation, zj, hz, xihu = [await regulator(code) for code in ("100000", "330000", "330100", "330106")]
    js = await regulator("320000")
    divisions = ("330000", "330100", "330106", "330200", "320000", "320100", "110000")
    for owner, division in itertools.product((zj, hz, js), divisions):
        case_id = await store.case(owner.authority_id, division, "tmall")
        await store.clock(case_id, issued=timedelta(days=1), due=timedelta(days=1))
        await store.notice(case_id, MessageStatus.PENDING)
    async with runtime.sessions() as session, session.begin():
        # Jiangsu entrusts Hangzhou with sampling in Nanjing (二, last paragraph).
        session.add(
            Entrustment(
                id=new_id("ent"), principal_id=js.authority_id, agent_id=hz.authority_id, division_code="320100"
            )
        )
    hz_entrusted = await regulator("330100")
    assert hz_entrusted.entrusted_divisions == ("320100",)
    async with runtime.sessions() as session:
        cases = (await session.scalars(select(Case))).all()
        for principal in (nation, zj, hz, xihu, js, hz_entrusted):
            in_sql = set((await session.scalars(select(Case.id).where(visible_cases(principal)))).all())
            expected = {c.id for c in cases if principal.can_access_case(c)}
            assert in_sql == expected, principal.division_code
            # The dashboard's prebuilt statements bind the same rule, on the copy of the scope clocks and notices carry.
            scope = BoundScope.of(principal)
            for table in (Deadline, OutboundMessage):
                bound = scope_clause(table.authority_id, table.jurisdiction_division, scope.ranges)
                seen = await session.scalars(select(table.case_id).where(bound), scope.params)
                assert set(seen.all()) == expected, (table.__tablename__, principal.division_code)
        assert await session.scalar(select(Authority.id).where(Authority.division_code == "330106")) is not None


def test_rules_and_durations_read_in_chinese() -> None:
    assert rule_label("5 working days") == "5 个工作日"
    assert rule_label("1 working day") == "1 个工作日"
    assert rule_label("15 days") == "15 日"
    assert rule_label("4 hours") == "4 小时"
    assert rule_label("15 days from receipt (receipt pending)") == "自收到之日起 15 日（尚未确认收到）"
    assert format_duration(None) == "—"
    assert format_duration(timedelta(days=4, minutes=30)) == "4 天 0 小时"
    assert format_duration(timedelta(hours=5, minutes=20)) == "5 小时 20 分"
    assert format_duration(timedelta(minutes=45)) == "45 分"


# ---- the page -----------------------------------------------------------------------------------------------------

_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
_CHART_DATA = re.compile(r'<script type="application/json" id="compliance-data">(.*?)</script>', re.DOTALL)


async def test_dashboard_page_shows_the_figures_and_the_chart_data(console: Any) -> None:
    officer = await console.login("330100", "officer")
    now = datetime.now(UTC)
    store = Store(console.gateway.sessions, now)
    await store.platform("tmall", "天猫")
    case = await store.case(officer.authority_id, "330100", "tmall")
    await store.clock(case, issued=timedelta(days=10), due=timedelta(days=-8), answered=timedelta(days=-10, hours=1))
    await store.clock(case, issued=timedelta(days=20), due=timedelta(days=-18), answered=timedelta(days=-12))
    await store.clock(case, issued=timedelta(days=3), due=timedelta(days=-1))  # overdue, unanswered
    await store.notice(case, MessageStatus.DEAD)

    response = await officer.get("/console/")
    assert response.status_code == 200, response.text
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert 'aria-current="page">工作台' in html
    # 30 days: on time 1 of 3 decided (the unanswered overdue one counts against); median of 1 h and 8 d.
    assert "33%" in html and "1 / 3" in html
    assert "4 天 0 小时" in html
    assert "2 个工作日；工商消字〔2015〕189号 五(三)；平台答复时限约定" in html  # the overdue clock's basis
    assert f'href="/console/cases/{case}"' in html
    assert 'href="/console/platforms/tmall#dead-letters">1</a>' in html
    # No inline script: every script is a file from /console/static/ or the (never executed) JSON data block.
    for tag in _SCRIPT_TAG.findall(html):
        assert 'src="/console/static/' in tag or 'type="application/json"' in tag, tag
    assert '<script src="/console/static/dashboard.js" defer>' in html
    found = _CHART_DATA.search(html)
    assert found is not None
    chart = json.loads(found.group(1))
    assert len(chart["weeks"]) == WEEKS
    (series,) = chart["series"]
    assert series["label"] == "天猫"
    # The week 10 days back: one on time; 20 days back: one late; the week of the unanswered one: 0 %.
    assert series["values"][-2] == 100.0
    assert series["values"][-3] == 0.0
    assert series["values"][-1] == 0.0
    assert sum(series["decided"]) == 3

    script = await officer.get("/console/static/dashboard.js")
    assert script.status_code == 200
    assert "uPlot" in script.text


async def test_dashboard_counts_nothing_of_another_province(console: Any) -> None:
    zhejiang = await console.login("330100", "officer")
    guangdong = await console.login("440000", "supervisor")
    store = Store(console.gateway.sessions, datetime.now(UTC))
    await store.platform("tmall", "天猫")
    for _ in range(3):
        case = await store.case(zhejiang.authority_id, "330100", "tmall", state=CaseState.PLANNED)
        await store.clock(case, issued=timedelta(days=3), due=timedelta(days=-1))
        await store.notice(case, MessageStatus.PENDING)

    await store.clock(case, issued=timedelta(days=1), due=timedelta(seconds=90))  # due soon, today

    seen = (await zhejiang.get("/console/")).text
    assert 'href="/console/cases?deadline=overdue">3</a>' in seen
    assert 'href="/console/cases?deadline=due_soon">1</a>' in seen
    # The same figures as the deadline API's for the same authority.
    assert len(await console.gateway.get("/v1/deadlines?status=overdue", zhejiang.token)) == 3
    assert len(await console.gateway.get("/v1/deadlines?status=due-soon", zhejiang.token)) == 1
    assert 'href="/console/cases?state=planned">3</a>' in seen
    assert "天猫" in seen

    other = await guangdong.get("/console/")
    assert other.status_code == 200
    assert 'href="/console/cases?deadline=overdue">0</a>' in other.text
    assert "?state=planned" not in other.text
    assert "天猫" not in other.text
    assert "所有通知均已送达" in other.text


async def test_dashboard_escapes_what_merchants_and_platforms_are_called(console: Any) -> None:
    officer = await console.login("330100", "officer")
    store = Store(console.gateway.sessions, datetime.now(UTC))
    await store.platform("evil", "</script><script>alert(2)</script>", shop="<script>alert(1)</script>")
    case = await store.case(officer.authority_id, "330100", "evil")
    await store.clock(case, issued=timedelta(days=10), due=timedelta(days=-8), answered=timedelta(days=-9))
    await store.clock(case, issued=timedelta(days=3), due=timedelta(days=-1))  # overdue: lists the shop

    html = (await officer.get("/console/")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "alert(2)</script>" not in html
    found = _CHART_DATA.search(html)
    assert found is not None
    assert json.loads(found.group(1))["series"][0]["label"] == "</script><script>alert(2)</script>"


async def test_dashboard_refuses_a_bad_range_with_the_field_named(console: Any) -> None:
    officer = await console.login("330100", "officer")
    for bad in ("abc", "0", "11", "1.5", "-1"):
        response = await officer.get(f"/console/?days={bad}")
        assert response.status_code == 400, bad
        assert "即将到期的提醒范围（days）" in response.text
        assert 'aria-invalid="true"' in response.text
    wider = await officer.get("/console/?days=5")
    assert wider.status_code == 200
    assert "5 个工作日内到期" in wider.text
    assert '<option value="5" selected>' in wider.text


async def test_dashboard_needs_a_login(console: Any) -> None:
    stranger = console.browser()
    response = await stranger.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=/console")
