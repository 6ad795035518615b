"""Deadlines and operational events: what needs a regulator's attention."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, Parameter

from spotcheck.gateway.deadlines.schemas import ComplianceView, DeadlineView, FindingView
from spotcheck.gateway.deadlines.service import DeadlineService
from spotcheck.gateway.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    Session,
    provide_principal,
    provide_runtime,
)

__all__ = ["OperationsController"]


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
        readings = await DeadlineService(session, principal, runtime.calendar).open_deadlines(status=status)
        return [DeadlineView.of(r) for r in readings]

    @post("/deadlines/sweep", summary="Escalate lapsed answers, record findings, finalize closed windows now")
    async def sweep(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, int]:
        """Run the deadline sweep (the worker also runs it periodically)."""
        return await DeadlineService(session, principal, runtime.calendar, runtime.wake_outbox).sweep()

    @get("/findings", summary="Findings against platforms (拖延: an order's deadline lapsed twice, 五(三))")
    async def findings(
        self,
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        platform_id: FromQuery[str | None] = None,
    ) -> list[FindingView]:
        """Findings on cases this authority may see, newest first; filter by platform."""
        rows = await DeadlineService(session, principal, runtime.calendar).findings(platform_id=platform_id)
        return [FindingView.of(r) for r in rows]

    @get("/platforms/{platform_id:str}/compliance", summary="A platform's compliance figures (五(三))")
    async def compliance(
        self, platform_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> ComplianceView:
        """How the platform answered this authority's requests and orders, and the findings against it."""
        figures = await DeadlineService(session, principal, runtime.calendar).compliance(platform_id)
        return ComplianceView.of(figures)

    @get("/events", summary="Operational events (escalations, disabled endpoints, dead letters)")
    async def events(
        self,
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        """Recent events an operator should look at (at most ``limit``, 1 to 500)."""
        rows = await DeadlineService(session, principal, runtime.calendar).events(limit=limit)
        return [
            {
                "id": row.id,
                "kind": row.kind,
                "case_id": row.case_id,
                "platform_id": row.platform_id,
                "detail": row.detail,
                "at": row.at,
            }
            for row in rows
        ]
