"""案件 (``GET /console/cases``): search, filters, server-side pages, and the same list as CSV and XLSX.

Search by product, trademark, merchant, platform and plan; filter by state and by deadline status (the case's most
pressing open clock overdue, due soon, or neither). A value the list cannot use answers 400 with the form as typed
and the field named in Chinese, never a 5xx. The exports hold every matching case, not only the page shown.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide

from spotcheck.gateway.console.attention import STATE_LABELS
from spotcheck.gateway.console.auth import CurrentOfficer, Officer
from spotcheck.gateway.console.case_exports import cases_csv, cases_xlsx
from spotcheck.gateway.console.case_search import (
    DEADLINE_FILTERS,
    DEFAULT_PER_PAGE,
    EXPORT_LIMIT,
    PER_PAGE_CHOICES,
    TEXT_FIELDS,
    BadQueryError,
    CaseRow,
    ExportTooLargeError,
    export_cases,
    parse_case_query,
    search_cases,
)
from spotcheck.gateway.console.render import page, pager
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = ["CaseListController"]

Req = Request[Any, Any, State]
_XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORM_FIELDS: Final = (*TEXT_FIELDS, "state", "deadline", "per_page", "days")


def _params(request: Req) -> dict[str, str]:
    # The first value of each parameter; a repeated parameter beyond it is ignored.
    params: dict[str, str] = {}
    for key, value in request.query_params.items():
        params.setdefault(key, value)
    return params


def _form_context(params: dict[str, str]) -> dict[str, Any]:
    kept = {name: params.get(name, "") for name in _FORM_FIELDS}
    kept["per_page"] = kept["per_page"] or str(DEFAULT_PER_PAGE)
    return {
        "kept": kept,
        "state_choices": list(STATE_LABELS.items()),
        "deadline_choices": list(DEADLINE_FILTERS.items()),
        "per_page_choices": [(str(n), f"{n} 条") for n in PER_PAGE_CHOICES],
        "export_limit": EXPORT_LIMIT,
        "export_error": None,
    }


def _bad_query(request: Req, officer: Officer, params: dict[str, str], exc: BadQueryError) -> Response[str]:
    return page(
        request, "console/cases.html", officer, status_code=400, results=None, pager=None, export_query="",
        error=f"查询条件有误：{exc.message}", errors={exc.field: exc.reason}, **_form_context(params),
    )  # fmt: skip


def _download(body: bytes, media_type: str, extension: str) -> Response[bytes]:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="spotcheck-cases-{stamp}.{extension}"',
            "cache-control": "no-store",
        },
    )


async def _export_rows(
    request: Req, session: Session, officer: Officer, runtime: RuntimeDep
) -> list[CaseRow] | Response[str]:
    """Every case the export's query matches, or the 400 page when the query cannot be used or matches too many."""
    params = _params(request)
    try:
        query = parse_case_query(params)
    except BadQueryError as exc:
        return _bad_query(request, officer, params, exc)
    try:
        return await export_cases(session, officer.principal, runtime.calendar, query, now=utcnow())
    except ExportTooLargeError as exc:
        context = _form_context(params) | {"export_error": exc.message}
        return page(
            request, "console/cases.html", officer, status_code=400, results=None, pager=None, export_query="",
            error=None, errors={}, **context,
        )  # fmt: skip


class CaseListController(Controller):
    """案件: ``/console/cases`` and its exports ``/console/cases.csv``, ``/console/cases.xlsx``."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/cases", summary="案件")
    async def cases(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """One page of the cases the officer may see that match the search and filters, newest first."""
        params = _params(request)
        try:
            query = parse_case_query(params)
        except BadQueryError as exc:
            return _bad_query(request, officer, params, exc)
        results = await search_cases(session, officer.principal, runtime.calendar, query, now=utcnow())
        filters = dict(query.filter_params())
        return page(
            request, "console/cases.html", officer, results=results, error=None, errors={},
            pager=pager("/console/cases", filters, query.page, query.per_page, results.total),
            export_query=f"?{urlencode(filters)}" if filters else "", **_form_context(params),
        )  # fmt: skip

    @get("/cases.csv", summary="案件（CSV）")
    async def cases_csv(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[bytes] | Response[str]:
        """Every matching case as CSV (UTF-8 with a byte order mark; formulas defused)."""
        rows = await _export_rows(request, session, officer, runtime)
        if isinstance(rows, Response):
            return rows
        return _download(cases_csv(rows), "text/csv; charset=utf-8", "csv")

    @get("/cases.xlsx", summary="案件（XLSX）")
    async def cases_xlsx(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[bytes] | Response[str]:
        """Every matching case as an XLSX workbook (every cell text)."""
        rows = await _export_rows(request, session, officer, runtime)
        if isinstance(rows, Response):
            return rows
        return _download(cases_xlsx(rows), _XLSX, "xlsx")
