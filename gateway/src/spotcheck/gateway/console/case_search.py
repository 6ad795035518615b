"""The case list's query: search terms and filters from a query string, one page of matching cases, the export.

Parsing is by hand, as on the public pages: any value the list cannot use becomes a :class:`BadQueryError` naming
the field in Chinese, which the page answers with 400 and the form as typed, never a 5xx. The search is one SQL
query scoped to what the officer may see (:func:`~spotcheck.gateway.console.attention.visible_cases`); a case's
deadline status is its most pressing open clock, judged by the deadline API's working-day rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, visible_cases
from spotcheck.gateway.console.attention import STATE_LABELS, UNSETTLED, URGENCY_LABELS, due_soon_until
from spotcheck.gateway.store.models import Case, Deadline, Merchant, Platform
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = [
    "DEADLINE_FILTERS",
    "DEFAULT_PER_PAGE",
    "DEFAULT_WORKING_DAYS",
    "EXPORT_LIMIT",
    "FIELD_LABELS",
    "MAX_WORKING_DAYS",
    "PER_PAGE_CHOICES",
    "TEXT_FIELDS",
    "BadQueryError",
    "CasePage",
    "CaseQuery",
    "CaseRow",
    "ExportTooLargeError",
    "export_cases",
    "parse_case_query",
    "parse_working_days",
    "search_cases",
]

DEFAULT_PER_PAGE: Final = 25
DEFAULT_WORKING_DAYS: Final = 1
"""Deadlines due within this many working days are "due soon", as the deadline API's ``due-soon`` says."""
MAX_WORKING_DAYS: Final = 10
PER_PAGE_CHOICES: Final = (25, 50, 100)
EXPORT_LIMIT: Final = 20_000
"""The most cases one CSV or XLSX export holds; a larger selection is refused with a request to narrow it."""
DEADLINE_FILTERS: Final[dict[str, str]] = {
    "overdue": "已逾期",
    "due_soon": "即将到期",
    "none": "无逾期或即将到期",
}
"""The deadline-status filter: a case's most pressing open clock is overdue, due soon, or neither."""
FIELD_LABELS: Final[dict[str, str]] = {
    "product": "样品名称",
    "trademark": "商标",
    "merchant": "经营者",
    "platform": "平台",
    "plan": "抽检计划",
    "state": "案件状态",
    "deadline": "期限状态",
    "page": "页码",
    "per_page": "每页条数",
    "days": "即将到期的提醒范围",
}
"""Every parameter of the case list (and the dashboard's ``days``) and its name on the form."""
TEXT_FIELDS: Final = ("product", "trademark", "merchant", "platform", "plan")
"""The search terms of the case list."""
_MAX_TERM: Final = 100
_MAX_PAGE: Final = 100_000
_NUMBER: Final = re.compile(r"\A[0-9]{1,7}\Z")
_DAYS: Final = re.compile(r"\A[0-9]{1,2}\Z")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class BadQueryError(ValueError):
    """A query parameter the case list cannot use: the field and the reason, in Chinese."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def message(self) -> str:
        """The sentence the page shows: ``案件状态（state）：…``."""
        return f"{FIELD_LABELS.get(self.field, self.field)}（{self.field}）：{self.reason}"


class ExportTooLargeError(ValueError):
    """More cases match than one export may hold."""

    def __init__(self, total: int) -> None:
        super().__init__(f"{total} cases match; an export holds at most {EXPORT_LIMIT}")
        self.total = total

    @property
    def message(self) -> str:
        """The sentence the page shows."""
        return f"符合条件的案件有 {self.total} 件，一次最多导出 {EXPORT_LIMIT} 件，请缩小筛选范围。"


@dataclass(frozen=True)
class CaseQuery:
    """What the officer asked the list for: search terms, filters and the page."""

    product: str | None = None
    trademark: str | None = None
    merchant: str | None = None
    platform: str | None = None
    plan: str | None = None
    state: str | None = None
    deadline: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    days: int = DEFAULT_WORKING_DAYS
    """Working days of warning that make a deadline "due soon" (the dashboard's range, carried by its links)."""

    def filter_params(self) -> list[tuple[str, str]]:
        """The query parameters that reproduce the search and filters (not the page), empty ones left out."""
        pairs = [(name, getattr(self, name)) for name in (*TEXT_FIELDS, "state", "deadline")]
        if self.per_page != DEFAULT_PER_PAGE:
            pairs.append(("per_page", str(self.per_page)))
        if self.days != DEFAULT_WORKING_DAYS:
            pairs.append(("days", str(self.days)))
        return [(name, value) for name, value in pairs if value]


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if len(value) > _MAX_TERM:
        raise BadQueryError(name, f"最长 {_MAX_TERM} 个字符")
    if _CONTROL.search(value):
        raise BadQueryError(name, "不能包含控制字符")
    return value


def _number(params: Mapping[str, str], name: str, default: int, upper: int) -> int:
    value = _text(params, name)
    if value is None:
        return default
    if not _NUMBER.match(value) or not 1 <= int(value) <= upper:
        raise BadQueryError(name, f"应为 1 到 {upper} 之间的整数")
    return int(value)


def parse_working_days(raw: str | None) -> int:
    """The ``days`` parameter: working days of warning (1 to 10; 1 when absent).

    Raises:
        BadQueryError: anything but a whole number in range.
    """
    value = (raw or "").strip()
    if not value:
        return DEFAULT_WORKING_DAYS
    if not _DAYS.match(value) or not 1 <= int(value) <= MAX_WORKING_DAYS:
        raise BadQueryError("days", f"应为 1 到 {MAX_WORKING_DAYS} 之间的整数（工作日）")
    return int(value)


def parse_case_query(params: Mapping[str, str]) -> CaseQuery:
    """The case list's query from the first value of each parameter.

    Raises:
        BadQueryError: a term is too long or holds control characters, the state or deadline status is not one
            the list knows, or the page, page size or warning range is out of range.
    """
    state = _text(params, "state")
    if state is not None and state not in STATE_LABELS:
        raise BadQueryError("state", "不是已知的案件状态")
    deadline = _text(params, "deadline")
    if deadline is not None and deadline not in DEADLINE_FILTERS:
        raise BadQueryError("deadline", "应为 overdue（已逾期）、due_soon（即将到期）或 none（无逾期或即将到期）")
    per_page = _number(params, "per_page", DEFAULT_PER_PAGE, max(PER_PAGE_CHOICES))
    if per_page not in PER_PAGE_CHOICES:
        raise BadQueryError("per_page", f"应为 {'、'.join(str(n) for n in PER_PAGE_CHOICES)} 之一")
    return CaseQuery(
        product=_text(params, "product"),
        trademark=_text(params, "trademark"),
        merchant=_text(params, "merchant"),
        platform=_text(params, "platform"),
        plan=_text(params, "plan"),
        state=state,
        deadline=deadline,
        page=_number(params, "page", 1, _MAX_PAGE),
        per_page=per_page,
        days=parse_working_days(params.get("days")),
    )


@dataclass(frozen=True)
class CaseRow:
    """One case as the list shows and exports it."""

    case_id: str
    sample_name: str
    trademark: str
    spec_model: str
    shop_name: str
    platform_name: str | None
    plan_reference: str
    state: str
    next_due_at: datetime | None
    urgency: str
    created_at: datetime

    @property
    def state_label(self) -> str:
        """The state in Chinese."""
        return STATE_LABELS.get(self.state, self.state)

    @property
    def urgency_label(self) -> str:
        """The deadline status in Chinese."""
        return URGENCY_LABELS[self.urgency]


@dataclass(frozen=True)
class CasePage:
    """One page of the list and how many cases match in all."""

    rows: list[CaseRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _open_clock(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Deadline.id).where(Deadline.case_id == Case.id, Deadline.status.in_(UNSETTLED), *conditions))


def _filtered(
    query: CaseQuery, principal: Principal, *, now: datetime, until: datetime | None, columns: list[Any]
) -> Select[Any]:
    statement = (
        select(*columns)
        .select_from(Case)
        .join(Merchant, Merchant.id == Case.merchant_id)
        .outerjoin(Platform, Platform.id == Case.platform_id)
        .where(visible_cases(principal))
    )
    if query.product:
        statement = statement.where(Case.sample_name.icontains(query.product, autoescape=True))
    if query.trademark:
        statement = statement.where(Case.trademark.icontains(query.trademark, autoescape=True))
    if query.merchant:
        statement = statement.where(
            or_(
                Merchant.shop_name.icontains(query.merchant, autoescape=True),
                Merchant.legal_name.icontains(query.merchant, autoescape=True),
            )
        )
    if query.platform:
        statement = statement.where(
            or_(Case.platform_id == query.platform, Platform.name.icontains(query.platform, autoescape=True))
        )
    if query.plan:
        statement = statement.where(
            or_(Case.plan_id == query.plan, Case.plan_reference.icontains(query.plan, autoescape=True))
        )
    if query.state:
        statement = statement.where(Case.state == query.state)
    if query.deadline:
        overdue = _open_clock(Deadline.due_at < now)
        soon = _open_clock(Deadline.due_at >= now, Deadline.due_at <= until) if until is not None else literal(False)
        wanted = {
            "overdue": overdue,
            "due_soon": and_(soon, not_(overdue)),
            "none": and_(not_(overdue), not_(soon)),
        }[query.deadline]
        statement = statement.where(wanted)
    return statement


_NEXT_DUE: Final = (
    select(func.min(Deadline.due_at))
    .where(Deadline.case_id == Case.id, Deadline.status.in_(UNSETTLED))
    .correlate(Case)
    .scalar_subquery()
)
_ROW_COLUMNS: Final[list[Any]] = [
    Case.id,
    Case.sample_name,
    Case.trademark,
    Case.spec_model,
    Merchant.shop_name,
    Platform.name,
    Case.plan_reference,
    Case.state,
    Case.created_at,
    _NEXT_DUE,
]


async def _rows(
    session: AsyncSession, statement: Select[Any], *, now: datetime, until: datetime | None
) -> list[CaseRow]:
    found = await session.execute(statement)
    return [
        CaseRow(
            case_id=case_id,
            sample_name=sample,
            trademark=trademark,
            spec_model=spec,
            shop_name=shop,
            platform_name=platform,
            plan_reference=plan,
            state=state,
            next_due_at=due_at,
            urgency=_urgency(due_at, now, until),
            created_at=created,
        )
        for case_id, sample, trademark, spec, shop, platform, plan, state, created, due_at in found.all()
    ]


def _urgency(due_at: datetime | None, now: datetime, until: datetime | None) -> str:
    if due_at is None:
        return "none"
    if due_at < now:
        return "overdue"
    if until is not None and due_at <= until:
        return "due_soon"
    return "ok"


async def search_cases(
    session: AsyncSession, principal: Principal, calendar: WorkdayCalendar, query: CaseQuery, *, now: datetime
) -> CasePage:
    """The page of matching cases the query asks for, newest first, and how many match in all."""
    until = due_soon_until(now, calendar, query.days)
    count = _filtered(query, principal, now=now, until=until, columns=[func.count()])
    total = int(await session.scalar(count) or 0)
    statement = (
        _filtered(query, principal, now=now, until=until, columns=_ROW_COLUMNS)
        .order_by(Case.id.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    return CasePage(await _rows(session, statement, now=now, until=until), total, query.page, query.per_page)


async def export_cases(
    session: AsyncSession, principal: Principal, calendar: WorkdayCalendar, query: CaseQuery, *, now: datetime
) -> list[CaseRow]:
    """Every matching case (the page is ignored), newest first.

    Raises:
        ExportTooLargeError: more than :data:`EXPORT_LIMIT` cases match.
    """
    until = due_soon_until(now, calendar, query.days)
    total = int(await session.scalar(_filtered(query, principal, now=now, until=until, columns=[func.count()])) or 0)
    if total > EXPORT_LIMIT:
        raise ExportTooLargeError(total)
    statement = _filtered(query, principal, now=now, until=until, columns=_ROW_COLUMNS).order_by(Case.id.desc())
    return await _rows(session, statement, now=now, until=until)
