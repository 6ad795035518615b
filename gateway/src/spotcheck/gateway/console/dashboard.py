"""工作台 (``GET /console/``): what needs the officer's attention, at a glance.

Deadlines overdue and due within N working days with their legal basis, cases by state, notices not delivered or
dead-lettered, and how well each platform answers in time (30 and 90 days, week by week in a chart). Everything is
scoped to the officer's jurisdiction and read by :func:`~spotcheck.gateway.console.compliance.read_dashboard`:
a fixed handful of aggregate queries, never a scan of the notices or clocks (the count by state reads one
narrow index of the cases, not their rows).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide

from spotcheck.gateway.console.auth import CurrentOfficer
from spotcheck.gateway.console.case_labels import RECIPIENT_LABELS
from spotcheck.gateway.console.case_search import (
    DEFAULT_WORKING_DAYS,
    MAX_WORKING_DAYS,
    BadQueryError,
    parse_working_days,
)
from spotcheck.gateway.console.compliance import WEEKS, format_duration, read_dashboard
from spotcheck.gateway.console.render import page
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = ["DashboardController"]


class DashboardController(Controller):
    """工作台: ``/console/``."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", summary="工作台")
    async def dashboard(
        self, request: Request[Any, Any, State], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """The dashboard; a ``days`` value it cannot use answers 400 with the form as typed."""
        raw = request.query_params.get("days")
        choices = [(str(n), f"{n} 个工作日内") for n in range(1, MAX_WORKING_DAYS + 1)]
        context: dict[str, Any] = {
            "day_choices": choices,
            "days_typed": raw if raw is not None else str(DEFAULT_WORKING_DAYS),
            "recipient_labels": RECIPIENT_LABELS,
            "duration": format_duration,
            "weeks": WEEKS,
            "now": utcnow(),
        }
        try:
            days = parse_working_days(raw)
        except BadQueryError as exc:
            return page(
                request, "console/dashboard.html", officer, status_code=400, board=None, chart=None,
                error=f"查询条件有误：{exc.message}", errors={exc.field: exc.reason}, days_query="", **context,
            )  # fmt: skip
        board = await read_dashboard(
            session, officer.principal, runtime.calendar, now=context["now"], working_days=days
        )
        days_query = f"&days={days}" if days != DEFAULT_WORKING_DAYS else ""
        return page(
            request, "console/dashboard.html", officer, board=board, chart=board.chart(), error=None, errors={},
            days_query=days_query, **context,
        )  # fmt: skip
