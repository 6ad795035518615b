"""Deadlines, operational events and the platform intake endpoint."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from sqlalchemy import select

from spotcheck.gateway.api import dto
from spotcheck.gateway.api.deps import (
    CurrentPrincipal,
    RuntimeDep,
    Session,
    provide_principal,
    provide_runtime,
    require_scope,
)
from spotcheck.gateway.deadline_views import query_deadlines, sweep_deadlines
from spotcheck.gateway.intake import receive_reply
from spotcheck.gateway.problems import ProblemError
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, OperationalEvent

__all__ = ["OperationsController", "intake"]


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
    ) -> list[dto.DeadlineView]:
        """Open deadlines in this authority's jurisdiction, most urgent first."""
        views = await query_deadlines(session, runtime.calendar, status=status)
        visible: list[dto.DeadlineView] = []
        for view in views:
            case = await session.get(Case, view.case_id)
            if case is not None and principal.can_access_case(case):
                visible.append(view)
        return visible

    @post("/deadlines/sweep", summary="Escalate overdue answers and finalize lapsed windows now")
    async def sweep(self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, int]:
        """Run the deadline sweep (the worker also runs it periodically)."""
        require_scope(principal, "admin")
        result = await sweep_deadlines(session, runtime.calendar)
        await session.commit()
        return result

    @get("/events", summary="Operational events (escalations, disabled endpoints, dead letters)")
    async def events(
        self, session: Session, principal: CurrentPrincipal, limit: FromQuery[int] = 100
    ) -> list[dict[str, Any]]:
        """Recent events an operator should look at."""
        rows = await session.scalars(
            select(OperationalEvent).order_by(OperationalEvent.id.desc()).limit(min(limit, 500))
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


@post(
    "/v1/intake/{platform_id:str}",
    tags=["intake"],
    summary="Receive a signed platform reply (Standard Webhooks)",
    description=(
        "One endpoint for every reply type. Signed with the platform's registered key over "
        "`{webhook-id}.{webhook-timestamp}.{body}`; deduplicated by webhook-id."
    ),
    status_code=200,
)
async def intake(platform_id: FromPath[str], request: Request[Any, Any, State], session: Session) -> dict[str, Any]:
    """Verify, deduplicate, validate and apply a platform reply."""
    runtime: Runtime = request.app.state.runtime
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise ProblemError(415, "unsupported-media-type", "send the reply as application/json")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    result = await receive_reply(session, runtime, platform_id, body, headers)
    return {"status": result.status, "id": result.message_id, "type": result.type, "detail": result.detail}
