"""Deadlines and operational events: what needs a regulator's attention."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromQuery
from sqlalchemy import select

from spotcheck.gateway.deadlines.schemas import DeadlineView
from spotcheck.gateway.deadlines.service import query_deadlines, sweep_deadlines
from spotcheck.gateway.store.models import Case, OperationalEvent
from spotcheck.gateway.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    Session,
    provide_principal,
    provide_runtime,
)


class OperationsController(Controller):
    """What needs attention: deadlines due and overdue, escalations."""

    path = "/v1"
    tags = ["operations"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @get("/deadlines", summary="Open deadlines (filter: overdue, due-soon)")
    async def deadlines(
        self,
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        status: FromQuery[Literal["all", "overdue", "due-soon"]] = "all",
    ) -> list[DeadlineView]:
        """Open deadlines in this authority's jurisdiction, most urgent first."""
        views = await query_deadlines(session, runtime.calendar, status=status)
        visible: list[DeadlineView] = []
        for view in views:
            case = await session.get(Case, view.case_id)
            if case is not None and principal.can_access_case(case):
                visible.append(view)
        return visible

    @post("/deadlines/sweep", summary="Escalate overdue answers and finalize lapsed windows now")
    async def sweep(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, int]:
        """Run the deadline sweep (the worker also runs it periodically)."""
        principal.require_scope("admin")
        result = await sweep_deadlines(session, runtime.calendar)
        await session.commit()
        return result

    @get("/events", summary="Operational events (escalations, disabled endpoints, dead letters)")
    async def events(
        self, session: Session, principal: CurrentPrincipal, limit: FromQuery[int] = 100
    ) -> list[dict[str, Any]]:
        """Recent events an operator should look at."""
        rows = await session.scalars(
            select(OperationalEvent).order_by(OperationalEvent.id.desc()).limit(max(1, min(limit, 500)))
        )
        out: list[dict[str, Any]] = []
        for row in rows:
            case = await session.get(Case, row.case_id) if row.case_id else None
            if case is None or principal.can_access_case(case):
                out.append(
                    {
                        "id": row.id,
                        "kind": row.kind,
                        "case_id": row.case_id,
                        "platform_id": row.platform_id,
                        "detail": row.detail,
                        "at": row.at,
                    }
                )
        return out
