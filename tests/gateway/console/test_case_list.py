"""案件 (/console/cases): search, filters, pages, CSV and XLSX exports, jurisdiction, escaping and 400s."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.console.attention import due_soon_until
from spotcheck.gateway.store.models import Case, Deadline, Merchant, Platform
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.workdays import SHANGHAI

pytestmark = pytest.mark.postgres

_shops = itertools.count()


@dataclass
class Cases:
    """Writes cases straight into the store: platforms and merchants made on first use."""

    sessions: async_sessionmaker[AsyncSession]
    platforms: set[str] = field(default_factory=set)

    async def add(
        self,
        authority_id: str,
        *,
        division: str = "330100",
        sample: str = "电热水壶",
        trademark: str = "美的",
        shop: str = "美的旗舰店",
        legal_name: str | None = None,
        platform: tuple[str, str] = ("tmall", "天猫"),
        plan: str = "抽〔2026〕1号",
        plan_id: str | None = None,
        state: CaseState = CaseState.PLANNED,
        due: list[timedelta] | None = None,
    ) -> str:
        """A case; ``due``: open platform-answer clocks due that long from now (negative: overdue)."""
        case_id = new_id("case")
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            if platform[0] not in self.platforms:
                session.add(Platform(id=platform[0], name=platform[1], province_code="330000"))
                self.platforms.add(platform[0])
                await session.flush()
            merchant = Merchant(
                id=new_id("mer"),
                platform_id=platform[0],
                shop_id=f"shop-{next(_shops)}",
                shop_name=shop,
                legal_name=legal_name,
                kind="registered_entity",
            )
            session.add(merchant)
            await session.flush()
            session.add(
                Case(
                    id=case_id,
                    authority_id=authority_id,
                    jurisdiction_division=division,
                    jurisdiction_basis="二",
                    state=state,
                    platform_id=platform[0],
                    merchant_id=merchant.id,
                    plan_reference=plan,
                    plan_id=plan_id,
                    sample_name=sample,
                    trademark=trademark,
                    spec_model="MK-1",
                )
            )
            await session.flush()
            for offset in due or []:
                session.add(
                    Deadline(
                        id=new_id("dl"),
                        case_id=case_id,
                        authority_id=authority_id,
                        jurisdiction_division=division,
                        kind=DeadlineKind.PLATFORM_ANSWER,
                        party=f"platform:{platform[0]}",
                        due_at=now + offset,
                        provisional=False,
                        rule="2 working days",
                        basis="五(三)",
                        status=DeadlineStatus.OPEN,
                    )
                )
        return case_id


@pytest.fixture
def cases(console: Any) -> Cases:
    return Cases(console.gateway.sessions)


def _listed(html: str, *case_ids: str) -> list[bool]:
    return [f'href="/console/cases/{case_id}"' in html for case_id in case_ids]


async def test_search_by_product_trademark_merchant_platform_and_plan(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    me = officer.authority_id
    kettle = await cases.add(me, sample="电热水壶", trademark="美的", shop="美的旗舰店")
    socket = await cases.add(
        me, sample="插座", trademark="公牛", shop="公牛专卖店", legal_name="宁波公牛电器有限公司", plan="抽〔2026〕7号"
    )
    toy = await cases.add(
        me, sample="毛绒玩具", trademark="Ab_100%", shop="玩具店", platform=("jd", "京东"), plan_id="plan_X1"
    )

    async def search(query: str) -> list[bool]:
        response = await officer.get(f"/console/cases?{query}")
        assert response.status_code == 200, response.text
        return _listed(response.text, kettle, socket, toy)

    assert await search("") == [True, True, True]
    assert await search("product=插座") == [False, True, False]
    assert await search("trademark=美") == [True, False, False]
    # LIKE wildcards in a term are matched literally.
    assert await search("trademark=_100%25") == [False, False, True]
    assert await search("trademark=%25") == [False, False, True]
    assert await search("merchant=旗舰") == [True, False, False]
    assert await search("merchant=宁波公牛") == [False, True, False]
    assert await search("platform=京东") == [False, False, True]
    assert await search("platform=tmall") == [True, True, False]
    assert await search("plan=7号") == [False, True, False]
    assert await search("plan=plan_X1") == [False, False, True]
    assert await search("product=插座&platform=京东") == [False, False, False]

    kept = (await officer.get("/console/cases?product=插座&merchant=公牛&state=planned")).text
    assert 'name="product" type="text" value="插座"' in kept
    assert 'name="merchant" type="text" value="公牛"' in kept
    assert '<option value="planned" selected>' in kept


async def test_filters_by_state_and_deadline_status(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    me = officer.authority_id
    overdue = await cases.add(me, due=[timedelta(days=-1), timedelta(days=20)], state=CaseState.SAMPLING_NOTIFIED)
    soon = await cases.add(me, due=[timedelta(seconds=60)], state=CaseState.SAMPLING_NOTIFIED)
    later = await cases.add(me, due=[timedelta(days=20)])
    quiet = await cases.add(me, state=CaseState.CLOSED)

    async def listed(query: str) -> list[bool]:
        response = await officer.get(f"/console/cases?{query}")
        assert response.status_code == 200, response.text
        return _listed(response.text, overdue, soon, later, quiet)

    assert await listed("deadline=overdue") == [True, False, False, False]
    assert await listed("deadline=due_soon") == [False, True, False, False]
    assert await listed("deadline=none") == [False, False, True, True]
    assert await listed("state=sampling_notified") == [True, True, False, False]
    assert await listed("state=closed") == [False, False, False, True]
    assert await listed("state=sampling_notified&deadline=overdue") == [True, False, False, False]

    page = (await officer.get("/console/cases")).text
    assert "已逾期" in page and "即将到期" in page and "已结案" in page


async def test_pages_are_cut_on_the_server_and_keep_the_filters(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    made = [await cases.add(officer.authority_id, sample=f"插座{n:02d}") for n in range(30)]
    await cases.add(officer.authority_id, sample="电饭煲")

    first = (await officer.get("/console/cases?product=插座")).text
    assert "共 30 条，第 1 / 2 页" in first
    assert sum(_listed(first, *made)) == 25
    assert all(_listed(first, *made[-25:]))  # newest first
    assert 'href="/console/cases?product=%E6%8F%92%E5%BA%A7&amp;page=2" rel="next"' in first

    second = (await officer.get("/console/cases?product=插座&page=2")).text
    assert sum(_listed(second, *made)) == 5
    assert all(_listed(second, *made[:5]))

    wide = (await officer.get("/console/cases?product=插座&per_page=50")).text
    assert sum(_listed(wide, *made)) == 30
    assert "共 30 条，第 1 / 1 页" in wide


async def test_another_province_is_never_listed_nor_exported(console: Any, cases: Cases) -> None:
    hangzhou = await console.login("330100", "officer")
    guangzhou = await console.login("440100", "officer")
    ours = await cases.add(hangzhou.authority_id, division="330100")
    theirs = await cases.add(guangzhou.authority_id, division="440100")
    # A case of the province's authority in Hangzhou's area is Hangzhou's to see (an authority below, same area).
    zhejiang_id, _ = await console.authority("330000")
    provincial = await cases.add(zhejiang_id, division="330000")

    html = (await hangzhou.get("/console/cases")).text
    assert _listed(html, ours, theirs, provincial) == [True, False, False]
    assert "共 1 条" in html
    exported = (await hangzhou.get("/console/cases.csv")).content.decode("utf-8-sig")
    assert ours in exported and theirs not in exported
    assert _listed((await guangzhou.get("/console/cases")).text, ours, theirs) == [False, True]


async def test_csv_export_holds_the_filtered_list_with_formulas_defused(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    me = officer.authority_id
    evil = await cases.add(me, sample="插座", shop='=HYPERLINK("http://evil.example","点击")', trademark="+1")
    plain = await cases.add(me, sample="插座", due=[timedelta(days=-1)])
    other = await cases.add(me, sample="电饭煲")

    response = await officer.get("/console/cases.csv?product=插座")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="spotcheck-cases-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, *body = rows
    assert header[:3] == ["案件编号", "样品名称", "标称商标"]
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_id) == {evil, plain}
    assert other not in by_id
    assert by_id[evil]["被抽检经营者"] == '\'=HYPERLINK("http://evil.example","点击")'
    assert by_id[evil]["标称商标"] == "'+1"
    assert by_id[plain]["期限状态"] == "已逾期"
    assert by_id[plain]["案件状态"] == "已立案"
    # Beijing time to the minute, no offset.
    async with console.gateway.sessions() as session:
        case = await session.get(Case, plain)
        due = await session.scalar(select(Deadline.due_at).where(Deadline.case_id == plain))
    assert case is not None and due is not None
    assert by_id[plain]["立案时间（北京时间）"] == case.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert by_id[plain]["最近截止时间（北京时间）"] == due.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert by_id[evil]["最近截止时间（北京时间）"] == "—"


async def test_xlsx_export_opens_with_every_cell_as_text(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    me = officer.authority_id
    evil = await cases.add(me, shop="=1+1", sample="<script>alert(1)</script>")
    await cases.add(me, sample="电饭煲", state=CaseState.CLOSED)

    response = await officer.get("/console/cases.xlsx?state=planned")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["案件"]
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]][:2] == ["案件编号", "样品名称"]
    assert len(rows) == 2
    cells = {rows[0][i].value: cell for i, cell in enumerate(rows[1])}
    assert cells["案件编号"].value == evil
    assert cells["被抽检经营者"].value == "=1+1"
    assert cells["被抽检经营者"].data_type == "s"  # a string, never a formula
    assert cells["样品名称"].value == "<script>alert(1)</script>"


async def test_a_merchant_named_script_is_shown_as_text(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    await cases.add(officer.authority_id, shop="<script>alert(1)</script>", trademark='"><img src=x onerror=alert(1)>')

    html = (await officer.get("/console/cases")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    typed = await officer.get("/console/cases?merchant=%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)</script>" not in typed.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in typed.text


BAD_VALUES = [
    ("state=bogus", "案件状态（state）"),
    ("deadline=late", "期限状态（deadline）"),
    ("page=0", "页码（page）"),
    ("page=abc", "页码（page）"),
    ("page=99999999", "页码（page）"),
    ("per_page=7", "每页条数（per_page）"),
    ("per_page=-1", "每页条数（per_page）"),
    ("product=" + "长" * 101, "样品名称（product）"),
    ("merchant=a%00b", "经营者（merchant）"),
    ("plan=a%0Db", "抽检计划（plan）"),
    ("days=0", "即将到期的提醒范围（days）"),
]


async def test_bad_values_answer_400_naming_the_field(console: Any) -> None:
    officer = await console.login("330100", "officer")
    for query, named in BAD_VALUES:
        for path in ("/console/cases", "/console/cases.csv", "/console/cases.xlsx"):
            response = await officer.get(f"{path}?trademark=公牛&{query}")
            assert response.status_code == 400, (path, query, response.status_code)
            assert response.headers["content-type"].startswith("text/html")
            assert named in response.text, query
            assert 'name="trademark" type="text" value="公牛"' in response.text  # the form keeps what was typed


async def test_an_export_larger_than_the_limit_asks_to_narrow_the_search(
    console: Any, cases: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spotcheck.gateway.console import case_search

    monkeypatch.setattr(case_search, "EXPORT_LIMIT", 1)
    officer = await console.login("330100", "officer")
    await cases.add(officer.authority_id, sample="插座")
    await cases.add(officer.authority_id, sample="插座")

    refused = await officer.get("/console/cases.xlsx?product=插座")
    assert refused.status_code == 400
    assert "符合条件的案件有 2 件，一次最多导出 1 件，请缩小筛选范围。" in refused.text
    assert 'name="product" type="text" value="插座"' in refused.text
    narrowed = await officer.get("/console/cases.csv?product=插座&state=closed")
    assert narrowed.status_code == 200


async def test_the_dashboards_warning_range_carries_over_to_the_list(console: Any, cases: Cases) -> None:
    officer = await console.login("330100", "officer")
    calendar = console.gateway.client.app.state.runtime.calendar
    now = datetime.now(UTC)
    two_days = due_soon_until(now, calendar, 2)
    assert two_days is not None
    later = await cases.add(officer.authority_id, due=[two_days - now - timedelta(minutes=1)])

    assert _listed((await officer.get("/console/cases?deadline=due_soon")).text, later) == [False]
    wider = await officer.get("/console/cases?deadline=due_soon&days=2")
    assert _listed(wider.text, later) == [True]
    assert '<input type="hidden" name="days" value="2">' in wider.text
    assert "&amp;days=2" in (await officer.get("/console/cases?days=2&per_page=50")).text  # the export links

    board = (await officer.get("/console/?days=2")).text
    assert 'href="/console/cases?deadline=due_soon&amp;days=2">1</a>' in board
    assert (await officer.get("/console/cases?days=11")).status_code == 400
