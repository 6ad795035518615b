"""Published sampling results (抽检结果公布, the opinion's 四(一)), read from the case tables for the public pages.

Only cases with ``published_at`` set are shown, with the fields the opinion lists. A natural-person merchant is shown by
shop name and a masked legal name; no identity number, address or contact of any merchant is ever read here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import msgspec
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.store.models import Authority, Case, Manufacturer, Merchant, Platform

__all__ = [
    "CONCLUSION_LABELS",
    "PublicResult",
    "ResultFilters",
    "count_results",
    "get_result",
    "iter_results",
    "mask_personal_name",
    "search_results",
]

CONCLUSION_LABELS: Final = {"pass": "合格", "fail": "不合格"}
"""综合判定结论 as published, by the case's conclusion code."""

NONE_SHOWN: Final = "/"
"""What a results table shows for a field the sample does not have (e.g. no labelled manufacturer)."""

_CST_OFFSET: Final = timedelta(hours=8)


def mask_personal_name(name: str) -> str:
    """A natural person's name as published: the first character, the rest as ``*`` (``王小明`` → ``王**``)."""
    text = name.strip()
    if not text:
        return ""
    return text[0] + "*" * max(1, len(text) - 1)


class PublicResult(msgspec.Struct, kw_only=True, frozen=True):
    """One published result with the fields of the opinion's 四(一), in the form the public pages show it.

    Attributes:
        case_id: the case, also the result's address (``/public/results/{case_id}``).
        sample_name: 样品名称.
        merchant_name: 被抽检网络商品经营者 (a natural person: shop name and masked legal name).
        shop_name: the shop's name on the platform.
        trademark: 标称商标.
        manufacturer_name: 标称生产者名称 (``/`` when none is labelled).
        spec_model: 规格型号.
        production_date: 生产日期 (ISO date) or None when not labelled.
        main_failing_items: 主要不合格项目 (empty for a passing sample).
        conclusion: ``pass`` or ``fail``.
        conclusion_label: 综合判定结论: 合格 or 不合格.
        platform_name: 第三方交易平台经营者名称, or None when not sampled through a platform.
        authority_name: the authority that organised the sampling.
        report_no: the test report number.
        institution: the testing institution.
        published_at: when the result was published.
    """

    case_id: str
    sample_name: str
    merchant_name: str
    shop_name: str
    trademark: str
    manufacturer_name: str
    spec_model: str
    production_date: str | None
    main_failing_items: list[str]
    conclusion: str
    conclusion_label: str
    platform_name: str | None
    authority_name: str
    report_no: str | None
    institution: str | None
    published_at: datetime


@dataclass(frozen=True)
class ResultFilters:
    """Search criteria of the results pages; every one optional, text matched as a case-insensitive substring.

    Attributes:
        trademark: part of the labelled trademark.
        manufacturer: part of the labelled manufacturer's name.
        platform: part of the platform operator's name, or its exact id.
        date_from: first publication day (China Standard Time), inclusive.
        date_to: last publication day (China Standard Time), inclusive.
        conclusion: ``pass`` or ``fail``.
    """

    trademark: str | None = None
    manufacturer: str | None = None
    platform: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    conclusion: str | None = None


def _china_midnight(day: date) -> datetime:
    # Publication days are Beijing days: midnight there is 16:00 UTC the day before.
    return datetime.combine(day, time(), tzinfo=UTC) - _CST_OFFSET


def _columns() -> Select[Any]:
    return (
        select(
            Case.id,
            Case.sample_name,
            Case.trademark,
            Case.spec_model,
            Case.production_date,
            Case.conclusion,
            Case.result,
            Case.published_at,
            Merchant.kind,
            Merchant.shop_name,
            Merchant.legal_name,
            Manufacturer.name,
            Platform.name,
            Authority.name,
        )
        .join(Merchant, Merchant.id == Case.merchant_id)
        .join(Authority, Authority.id == Case.authority_id)
        .outerjoin(Manufacturer, Manufacturer.id == Case.manufacturer_id)
        .outerjoin(Platform, Platform.id == Case.platform_id)
        .where(Case.published_at.is_not(None))
    )


def _contains(column: Any, term: str) -> Any:
    return func.lower(column).contains(term.lower(), autoescape=True)


def _filtered(query: Select[Any], filters: ResultFilters) -> Select[Any]:
    if filters.trademark:
        query = query.where(_contains(Case.trademark, filters.trademark))
    if filters.manufacturer:
        query = query.where(_contains(Manufacturer.name, filters.manufacturer))
    if filters.platform:
        query = query.where(or_(_contains(Platform.name, filters.platform), Platform.id == filters.platform))
    if filters.date_from is not None:
        query = query.where(Case.published_at >= _china_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(Case.published_at < _china_midnight(filters.date_to + timedelta(days=1)))
    if filters.conclusion:
        query = query.where(Case.conclusion == filters.conclusion)
    return query


def _merchant_name(kind: str, shop_name: str, legal_name: str | None) -> str:
    if kind == "natural_person":
        masked = mask_personal_name(legal_name or "")
        return f"{shop_name}（经营者：{masked}）" if masked else shop_name
    return legal_name or shop_name


def _result(row: Any) -> PublicResult:
    (
        case_id,
        sample_name,
        trademark,
        spec_model,
        production_date,
        conclusion,
        result,
        published_at,
        kind,
        shop_name,
        legal_name,
        manufacturer_name,
        platform_name,
        authority_name,
    ) = row
    outcome: dict[str, Any] = result or {}
    code = conclusion or "pass"
    items = [str(item.get("item", "")) for item in outcome.get("failing_items", [])] if code == "fail" else []
    return PublicResult(
        case_id=case_id,
        sample_name=sample_name,
        merchant_name=_merchant_name(kind, shop_name, legal_name),
        shop_name=shop_name,
        trademark=trademark,
        manufacturer_name=manufacturer_name or NONE_SHOWN,
        spec_model=spec_model,
        production_date=production_date.isoformat() if production_date else None,
        main_failing_items=items,
        conclusion=code,
        conclusion_label=CONCLUSION_LABELS.get(code, code),
        platform_name=platform_name,
        authority_name=authority_name,
        report_no=outcome.get("report_no"),
        institution=outcome.get("institution"),
        published_at=published_at,
    )


async def count_results(session: AsyncSession, filters: ResultFilters) -> int:
    """How many published results match ``filters``."""
    query = _filtered(_columns(), filters).with_only_columns(func.count(Case.id))
    return int(await session.scalar(query) or 0)


async def search_results(
    session: AsyncSession, filters: ResultFilters, *, page: int, per_page: int
) -> tuple[list[PublicResult], int]:
    """One page of matching results, newest publication first, and the total number of matches."""
    total = await count_results(session, filters)
    query = (
        _filtered(_columns(), filters)
        .order_by(Case.published_at.desc(), Case.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = (await session.execute(query)).all()
    return [_result(row) for row in rows], total


async def get_result(session: AsyncSession, case_id: str) -> PublicResult | None:
    """The published result of one case, or None when the case is unknown or not published."""
    row = (await session.execute(_columns().where(Case.id == case_id))).first()
    return _result(row) if row is not None else None


async def iter_results(
    sessions: async_sessionmaker[AsyncSession], filters: ResultFilters, *, batch: int = 500
) -> AsyncIterator[PublicResult]:
    """Every matching result, newest first, fetched in batches, each in a short transaction of its own."""
    after: tuple[datetime, str] | None = None
    while True:
        query = _filtered(_columns(), filters).order_by(Case.published_at.desc(), Case.id.desc()).limit(batch)
        if after is not None:
            published, case_id = after
            query = query.where(
                or_(Case.published_at < published, and_(Case.published_at == published, Case.id < case_id))
            )
        async with sessions() as session:
            rows = (await session.execute(query)).all()
        if not rows:
            return
        for row in rows:
            yield _result(row)
        last = rows[-1]
        after = (last[7], last[0])
        if len(rows) < batch:
            return
