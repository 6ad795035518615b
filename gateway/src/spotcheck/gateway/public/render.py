"""Templates, formats and query parsing of the public pages.

Templates are rendered by a Litestar :class:`~litestar.plugins.jinja.JinjaTemplateEngine` over a Jinja2 environment
with autoescaping on for every template (HTML and Atom alike), so no value from the database reaches a page
unescaped. Query strings are parsed by hand: any value, however malformed, becomes a :class:`BadQueryError`, which the
pages answer with a 400 page and the feeds with a 400 problem, never a 5xx.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine

from spotcheck.gateway.legal import OPINION, basis
from spotcheck.gateway.public.results import NONE_SHOWN, PublicResult, ResultFilters

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "BadQueryError",
    "Paging",
    "csv_header",
    "csv_rows",
    "filter_params",
    "page_links",
    "parse_filters",
    "parse_paging",
    "render",
]

DEFAULT_PER_PAGE: Final = 20
MAX_PER_PAGE: Final = 100
_MAX_PAGE: Final = 100_000
_MAX_TERM: Final = 100
_CHINA: Final = timezone(timedelta(hours=8), "CST")
_DATE: Final = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_NUMBER: Final = re.compile(r"\A[0-9]{1,7}\Z")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_YEARS: Final = range(1900, 3000)

CSV_COLUMNS: Final = (
    "样品名称",
    "被抽检网络商品经营者",
    "标称商标",
    "标称生产者名称",
    "规格型号",
    "生产日期",
    "主要不合格项目",
    "综合判定结论",
    "第三方交易平台经营者名称",
    "抽检机关",
    "检验报告编号",
    "公布日期",
    "详情",
)
"""Header row of ``/public/results.csv``: the fields of the opinion's 四(一), then provenance."""


class BadQueryError(ValueError):
    """A query parameter the public pages cannot use; names the parameter and says why in Chinese."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Paging:
    """Which page of a listing to show and how long pages are."""

    page: int
    per_page: int


def _text(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        return None
    if len(value) > _MAX_TERM:
        raise BadQueryError(name, f"最长 {_MAX_TERM} 个字符")
    if _CONTROL.search(value):
        raise BadQueryError(name, "含有控制字符")
    return value


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = _text(params, name)
    if value is None:
        return None
    if not _DATE.match(value):
        raise BadQueryError(name, "应为 YYYY-MM-DD 格式的日期")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadQueryError(name, "不是有效的日期") from None
    if day.year not in _YEARS:
        raise BadQueryError(name, "年份超出范围")
    return day


def _number(params: Mapping[str, str], name: str, default: int, upper: int) -> int:
    value = _text(params, name)
    if value is None:
        return default
    if not _NUMBER.match(value):
        raise BadQueryError(name, "应为正整数")
    number = int(value)
    if not 1 <= number <= upper:
        raise BadQueryError(name, f"应在 1 到 {upper} 之间")
    return number


def parse_filters(params: Mapping[str, str]) -> ResultFilters:
    """The result filters in a query string.

    Parameters read: ``trademark``, ``manufacturer``, ``platform``, ``from``, ``to``, ``conclusion``.

    Raises:
        BadQueryError: a value is too long, holds control characters, is not a date, or the range is reversed.
    """
    date_from, date_to = _day(params, "from"), _day(params, "to")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadQueryError("from", "起始日期晚于截止日期")
    conclusion = _text(params, "conclusion")
    if conclusion not in {None, "pass", "fail"}:
        raise BadQueryError("conclusion", "应为 pass（合格）或 fail（不合格）")
    return ResultFilters(
        trademark=_text(params, "trademark"),
        manufacturer=_text(params, "manufacturer"),
        platform=_text(params, "platform"),
        date_from=date_from,
        date_to=date_to,
        conclusion=conclusion,
    )


def parse_paging(params: Mapping[str, str]) -> Paging:
    """``page`` (from 1) and ``per_page`` (1 to 100, default 20).

    Raises:
        BadQueryError: not a positive integer in range.
    """
    return Paging(
        page=_number(params, "page", 1, _MAX_PAGE),
        per_page=_number(params, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def filter_params(filters: ResultFilters) -> dict[str, str]:
    """The query parameters that reproduce ``filters`` (empty ones left out)."""
    values = {
        "trademark": filters.trademark,
        "manufacturer": filters.manufacturer,
        "platform": filters.platform,
        "from": filters.date_from.isoformat() if filters.date_from else None,
        "to": filters.date_to.isoformat() if filters.date_to else None,
        "conclusion": filters.conclusion,
    }
    return {key: value for key, value in values.items() if value}


def page_links(path: str, params: Mapping[str, str], paging: Paging, total: int) -> dict[str, Any]:
    """Page count and the addresses of the first, previous, next and last pages (None where there is none)."""
    pages = max(1, -(-total // paging.per_page))
    base = dict(params)
    if paging.per_page != DEFAULT_PER_PAGE:
        base["per_page"] = str(paging.per_page)

    def link(page: int) -> str:
        query = urlencode({**base, "page": str(page)} if page > 1 else base)
        return f"{path}?{query}" if query else path

    return {
        "page": paging.page,
        "pages": pages,
        "total": total,
        "first": link(1) if paging.page > 1 else None,
        "prev": link(min(paging.page - 1, pages)) if paging.page > 1 else None,
        "next": link(paging.page + 1) if paging.page < pages else None,
        "last": link(pages) if paging.page < pages else None,
    }


def _china_time(value: datetime) -> str:
    return value.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")


def _china_date(value: datetime) -> str:
    return value.astimezone(_CHINA).strftime("%Y-%m-%d")


def _atom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("spotcheck.gateway.public", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # packaged templates never change while serving: no stat() per render
    )
    env.filters["china_time"] = _china_time
    env.filters["china_date"] = _china_date
    env.filters["atom_time"] = _atom_time
    env.globals["none_shown"] = NONE_SHOWN
    env.globals["opinion"] = OPINION
    env.globals["basis"] = basis
    return env


_engine = JinjaTemplateEngine(engine_instance=_environment())


def render(template: str, **context: Any) -> str:
    """Render one of the package's templates with autoescaping."""
    return _engine.get_template(template).render(**context)


def _cell(value: str) -> str:
    # A leading =, +, - or @ would make a spreadsheet run the cell as a formula (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_header() -> str:
    """The byte-order mark and header line of the CSV export (the mark lets Excel read the UTF-8 Chinese)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(CSV_COLUMNS)
    return "\ufeff" + buffer.getvalue()


def csv_rows(results: Iterable[PublicResult], base_url: str) -> str:
    """CSV lines for ``results`` (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for result in results:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    result.sample_name,
                    result.merchant_name,
                    result.trademark,
                    result.manufacturer_name,
                    result.spec_model,
                    result.production_date or NONE_SHOWN,
                    "、".join(result.main_failing_items) or NONE_SHOWN,
                    result.conclusion_label,
                    result.platform_name or NONE_SHOWN,
                    result.authority_name,
                    result.report_no or NONE_SHOWN,
                    _china_date(result.published_at),
                    f"{base_url}/public/results/{result.case_id}",
                )
            ]
        )
    return buffer.getvalue()
