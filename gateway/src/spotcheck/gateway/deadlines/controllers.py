"""Deadlines and operational events: what needs a regulator's attention."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromQuery

from spotcheck.gateway.deadlines.schemas import DeadlineView
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

    @post("/deadlines/sweep", summary="Escalate overdue answers and finalize lapsed windows now")
    async def sweep(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, int]:
        """Run the deadline sweep (the worker also runs it periodically)."""
        return await DeadlineService(session, principal, runtime.calendar).sweep()

    @get("/events", summary="Operational events (escalations, disabled endpoints, dead letters)")
    async def events(
        self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep, limit: FromQuery[int] = 100
    ) -> list[dict[str, Any]]:
        """Recent events an operator should look at."""
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
