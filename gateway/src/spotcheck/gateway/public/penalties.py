"""Administrative penalty decisions (行政处罚信息, the opinion's 四(三)), published for the enterprise credit record.

* ``/public/penalties`` (HTML), ``/public/penalties.json``, ``/public/penalties.csv``;
* ``/public/penalties/{id}``: one decision's summary.

The CSV follows the summary the credit information publicity system shows for each decision. Its fields are
those of the 行政处罚信息摘要 in 《市场监督管理行政处罚信息公示规定》 (国家市场监督管理总局令第45号, 2021), 第四条:
行政处罚决定书文号, the party's basic facts (当事人名称, 统一社会信用代码, 法定代表人（负责人）), 违法行为类型,
行政处罚内容, 作出行政处罚决定机关名称 and 作出行政处罚决定日期; then the publication date and the detail address.
Source consulted: the text of the regulation as reproduced at
https://flfgsc.cn/law/市场监督管理行政处罚信息公示规定-2021年 (第二条: decisions are recorded in the 国家企业信用信息
公示系统 under the market entity's name; 第四条: the summary's fields).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Stream
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.public.pages import (
    FEED_HEADERS,
    bad_query,
    bad_query_page,
    base_url,
    error_page,
    html_page,
    json_page,
    query_params,
)
from spotcheck.gateway.public.render import BadQueryError, page_links, parse_paging, render
from spotcheck.gateway.store.models_sanctions import PenaltyDecision
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = ["PENALTY_CSV_COLUMNS", "PublicPenaltiesController", "PublicPenalty", "get_penalty", "list_penalties"]

PENALTY_CSV_COLUMNS: Final = (
    "行政处罚决定书文号",
    "当事人名称",
    "统一社会信用代码",
    "法定代表人（负责人）",
    "违法行为类型",
    "行政处罚内容",
    "作出行政处罚决定机关名称",
    "作出行政处罚决定日期",
    "公示日期",
    "详情",
)
"""Header row of ``/public/penalties.csv``: the 行政处罚信息摘要 fields, then publication date and address."""

_PENALTY_ID: Final = re.compile(r"\Apen_[0-9A-Z]{26}\Z")
_CHINA: Final = timezone(timedelta(hours=8))
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_CSV_BATCH: Final = 500


class PublicPenalty(msgspec.Struct, kw_only=True, frozen=True):
    """A penalty decision as published (行政处罚信息摘要 plus the facts, basis and amounts).

    Attributes:
        id: the decision's record (its address is ``/public/penalties/{id}``).
        decision_no: 行政处罚决定书文号.
        party_name: 当事人名称.
        party_uscc: 统一社会信用代码.
        legal_representative: 法定代表人（负责人）, or None.
        violation_type: 违法行为类型.
        facts: 违法事实.
        legal_basis: 处罚依据.
        content: 行政处罚内容.
        fine_fen: 罚款金额 in fen, or None.
        confiscated_fen: 没收违法所得、非法财物的金额 in fen, or None.
        authority_name: 作出行政处罚决定机关名称.
        decided_on: 作出行政处罚决定日期.
        published_at: 公示日期.
        case_id: the sampling case the decision follows.
    """

    id: str
    decision_no: str
    party_name: str
    party_uscc: str
    legal_representative: str | None
    violation_type: str
    facts: str
    legal_basis: str
    content: str
    fine_fen: int | None
    confiscated_fen: int | None
    authority_name: str
    decided_on: date
    published_at: datetime
    case_id: str


def _public(row: PenaltyDecision) -> PublicPenalty:
    return PublicPenalty(
        id=row.id,
        decision_no=row.decision_no,
        party_name=row.party_name,
        party_uscc=row.party_uscc,
        legal_representative=row.legal_representative,
        violation_type=row.violation_type,
        facts=row.facts,
        legal_basis=row.legal_basis,
        content=row.content,
        fine_fen=row.fine_fen,
        confiscated_fen=row.confiscated_fen,
        authority_name=row.authority_name,
        decided_on=row.decided_on,
        published_at=row.published_at,
        case_id=row.case_id,
    )


def _newest_first() -> Any:
    return select(PenaltyDecision).order_by(PenaltyDecision.published_at.desc(), PenaltyDecision.id.desc())


async def list_penalties(session: AsyncSession, *, page: int, per_page: int) -> tuple[list[PublicPenalty], int]:
    """One page of decisions, newest publication first, and how many there are."""
    total = int(await session.scalar(select(func.count(PenaltyDecision.id))) or 0)
    rows = await session.scalars(_newest_first().offset((page - 1) * per_page).limit(per_page))
    return [_public(row) for row in rows], total


async def get_penalty(session: AsyncSession, penalty_id: str) -> PublicPenalty | None:
    """One decision, or None."""
    row = await session.get(PenaltyDecision, penalty_id)
    return _public(row) if row is not None else None


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _penalty_json(item: PublicPenalty, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "decision_no": item.decision_no,
        "party_name": item.party_name,
        "party_uscc": item.party_uscc,
        "legal_representative": item.legal_representative,
        "violation_type": item.violation_type,
        "facts": item.facts,
        "legal_basis": item.legal_basis,
        "content": item.content,
        "fine_yuan": _yuan(item.fine_fen),
        "confiscated_yuan": _yuan(item.confiscated_fen),
        "authority_name": item.authority_name,
        "decided_on": item.decided_on.isoformat(),
        "published_at": item.published_at,
        "url": f"{base}/public/penalties/{item.id}",
        "result_url": f"{base}/public/results/{item.case_id}",
    }


def _cell(value: str) -> str:
    # A leading =, +, - or @ would make a spreadsheet run the cell as a formula (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def penalty_csv_header() -> str:
    """The byte-order mark (so Excel reads the UTF-8 Chinese) and the header line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(PENALTY_CSV_COLUMNS)
    return "\ufeff" + buffer.getvalue()


def penalty_csv_rows(items: Iterable[PublicPenalty], base: str) -> str:
    """CSV lines for ``items`` (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for item in items:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    item.decision_no,
                    item.party_name,
                    item.party_uscc,
                    item.legal_representative or "",
                    item.violation_type,
                    item.content,
                    item.authority_name,
                    item.decided_on.isoformat(),
                    item.published_at.astimezone(_CHINA).date().isoformat(),
                    f"{base}/public/penalties/{item.id}",
                )
            ]
        )
    return buffer.getvalue()


async def _csv_stream(sessions: async_sessionmaker[AsyncSession], base: str) -> AsyncIterator[bytes]:
    yield penalty_csv_header().encode()
    offset = 0
    while True:
        async with sessions() as session:
            rows = (await session.scalars(_newest_first().offset(offset).limit(_CSV_BATCH))).all()
            items = [_public(row) for row in rows]
        if not items:
            return
        yield penalty_csv_rows(items, base).encode()
        if len(items) < _CSV_BATCH:
            return
        offset += len(items)


class PublicPenaltiesController(Controller):
    """行政处罚信息公示: the penalty decisions recorded after sampling cases."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012

    @get("/penalties", summary="Administrative penalty decisions (HTML, paginated)", media_type=MediaType.HTML)
    async def penalties_page(self, request: Request[Any, Any, State], session: Session) -> Response[str]:
        """The decisions' summaries, newest first."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            return bad_query_page(exc)
        items, total = await list_penalties(session, page=paging.page, per_page=paging.per_page)
        return html_page(
            render("penalties.html", penalties=items, paging=page_links("/public/penalties", {}, paging, total))
        )

    @get("/penalties/{penalty_id:str}", summary="One penalty decision (HTML)", media_type=MediaType.HTML)
    async def penalty_page(self, penalty_id: FromPath[str], session: Session) -> Response[str]:
        """The decision's summary with facts, basis and amounts; 404 when there is none."""
        item = await get_penalty(session, penalty_id) if _PENALTY_ID.match(penalty_id) else None
        if item is None:
            return error_page(404, "未找到", "没有该行政处罚信息。")
        amounts = {"fine": _yuan(item.fine_fen), "conf": _yuan(item.confiscated_fen)}
        return html_page(render("penalty.html", penalty=item, **amounts))

    @get("/penalties.json", summary="Administrative penalty decisions (JSON, same pages as the HTML list)")
    async def penalties_json(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[dict[str, Any]]:
        """A page of decisions with ``total``, ``page``, ``per_page`` and the next page's address."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        items, total = await list_penalties(session, page=paging.page, per_page=paging.per_page)
        base = base_url(runtime)
        items_json = [_penalty_json(item, base) for item in items]
        return json_page(items_json, total=total, paging=paging, path="/public/penalties.json", base=base)

    @get(
        "/penalties.csv",
        summary="Administrative penalty decisions (CSV in the credit publicity summary's layout)",
        media_type="text/csv",
    )
    async def penalties_csv(self, runtime: RuntimeDep) -> Stream:
        """Every decision as CSV (UTF-8 with BOM), newest first, streamed in batches."""
        return Stream(
            _csv_stream(runtime.sessions, base_url(runtime)),
            media_type="text/csv; charset=utf-8",
            headers={**FEED_HEADERS, "content-disposition": 'attachment; filename="spotcheck-penalties.csv"'},
        )
