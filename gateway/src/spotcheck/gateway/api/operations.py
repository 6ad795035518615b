"""Deadlines, operational events and the platform intake endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select

from spotcheck.gateway.access import Principal
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
from spotcheck.gateway.deliveries import dead_letters, delivery_detail, list_deliveries, redeliver, replay_dead_letters
from spotcheck.gateway.intake import receive_reply
from spotcheck.gateway.problems import ProblemError, field_error
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, OperationalEvent, OutboundMessage

__all__ = ["DeliveryController", "OperationsController", "intake"]


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


async def _require_case_access(session: Session, principal: Principal, case_id: str | None) -> None:
    """A message about a case is the business of that case's authorities only (403 otherwise)."""
    if case_id is None:
        return
    case = await session.get(Case, case_id)
    if case is not None and not principal.can_access_case(case):
        raise ProblemError(403, "outside-jurisdiction", f"case {case_id} is outside this authority's jurisdiction")


def _message_view(row: OutboundMessage) -> dto.MessageView:
    return dto.MessageView(
        id=row.id,
        message_type=row.message_type,
        recipient_kind=row.recipient_kind,
        recipient_id=row.recipient_id,
        recipient_name=row.recipient_name,
        adapter=row.adapter,
        status=row.status,
        attempt_count=row.attempt_count,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        acknowledged_at=row.acknowledged_at,
        answered_at=row.answered_at,
        respond_by=row.respond_by,
    )


class DeliveryController(Controller):
    """Deliveries for operators: what was sent, every attempt, redelivery and dead-letter replay (admin)."""

    path = "/v1/deliveries"
    tags = ["deliveries"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @get("/", summary="List deliveries")
    async def list_all(
        self,
        session: Session,
        principal: CurrentPrincipal,
        status: FromQuery[Literal["pending", "delivering", "delivered", "dead"] | None] = None,
        platform_id: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 100,
    ) -> list[dto.MessageView]:
        """Outbound messages newest first (operators see every case's deliveries)."""
        require_scope(principal, "admin")
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise field_error(400, name, "give a UTC offset, e.g. 2026-03-02T10:00:00+08:00", code="invalid-query")
        rows = await list_deliveries(
            session, status=status, platform_id=platform_id, since=since, until=until, limit=max(1, min(limit, 1000))
        )
        return [_message_view(r) for r in rows]

    @get("/{message_id:str}", summary="One delivery with every attempt")
    async def detail(self, message_id: FromPath[str], session: Session, principal: CurrentPrincipal) -> dict[str, Any]:
        """A message's delivery state and its attempts (time, latency, status, answer excerpt)."""
        require_scope(principal, "admin")
        found = await delivery_detail(session, message_id)
        if found is None:
            raise ProblemError(404, "not-found", f"no such message: {message_id}")
        row, attempts = found
        await _require_case_access(session, principal, row.case_id)
        return {
            "message": _message_view(row),
            "last_error": row.last_error,
            "attempts": [
                {
                    "attempt": a.attempt,
                    "worker": a.worker,
                    "started_at": a.started_at,
                    "latency_ms": a.latency_ms,
                    "outcome": a.outcome,
                    "http_status": a.http_status,
                    "response_excerpt": a.response_excerpt,
                    "error": a.error,
                }
                for a in attempts
            ],
        }

    @post("/{message_id:str}/redeliver", summary="Deliver a message again now (same webhook-id)", status_code=202)
    async def redeliver_one(
        self, message_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dto.MessageView:
        """Queue one message again; receivers deduplicate by its unchanged webhook-id."""
        require_scope(principal, "admin")
        existing = await session.get(OutboundMessage, message_id)
        if existing is None:
            raise ProblemError(404, "not-found", f"no such message: {message_id}")
        await _require_case_access(session, principal, existing.case_id)
        row = await redeliver(session, message_id, actor=principal.actor)
        if row is None:
            raise ProblemError(404, "not-found", f"no such message: {message_id}")
        await session.commit()
        runtime.wake_outbox()
        return _message_view(row)

    @post("/replay", summary="Replay the dead letters of a platform or a time range", status_code=202)
    async def replay(
        self, data: JSONBody[dto.ReplayBody], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, int]:
        """Put matching dead letters back in the queue; a platform disabled by a 410 is re-enabled."""
        require_scope(principal, "admin")
        ids = await dead_letters(session, platform_id=data.platform_id, since=data.since, until=data.until)
        count = await replay_dead_letters(session, ids, actor=principal.actor)
        await session.commit()
        runtime.wake_outbox()
        return {"replayed": count}
