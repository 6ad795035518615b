"""Delivery endpoints for operators: list, inspect, redeliver, replay dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from spotcheck.gateway.delivery.schemas import MessageView, ReplayBody
from spotcheck.gateway.delivery.service import (
    delivery_detail,
    list_deliveries,
    redeliver,
    replay_dead_letters,
)
from spotcheck.gateway.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    Session,
    provide_principal,
    provide_runtime,
)
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.gateway.web.timestamps import RequestTimestamp


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
        since: FromQuery[RequestTimestamp | None] = None,
        until: FromQuery[RequestTimestamp | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[MessageView]:
        """Outbound messages newest first, at most ``limit`` (1 to 1000); operators see every case's deliveries."""
        principal.require_scope("admin")  # since/until: RequestTimestamp has refused a moment without an offset
        rows = await list_deliveries(
            session, status=status, platform_id=platform_id, since=since, until=until, limit=limit
        )
        return [MessageView.of(r) for r in rows]

    @get("/{message_id:str}", summary="One delivery with every attempt")
    async def detail(self, message_id: FromPath[str], session: Session, principal: CurrentPrincipal) -> dict[str, Any]:
        """A message's delivery state and its attempts (time, latency, status, answer excerpt)."""
        principal.require_scope("admin")
        found = await delivery_detail(session, message_id, principal=principal)
        if found is None:
            raise ProblemError(404, "not-found", f"no such message: {message_id}")
        row, attempts = found
        return {
            "message": MessageView.of(row),
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
    ) -> MessageView:
        """Queue one message again; receivers deduplicate by its unchanged webhook-id."""
        principal.require_scope("admin")
        row = await redeliver(
            session, message_id, actor=principal.actor, principal=principal, wake_outbox=runtime.wake_outbox
        )
        if row is None:
            raise ProblemError(404, "not-found", f"no such message: {message_id}")
        return MessageView.of(row)

    @post("/replay", summary="Replay the dead letters of a platform or a time range", status_code=202)
    async def replay(
        self, data: JSONBody[ReplayBody], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, int]:
        """Put matching dead letters back in the queue; a platform disabled by a 410 is re-enabled."""
        principal.require_scope("admin")
        count = await replay_dead_letters(
            session,
            platform_id=data.platform_id,
            since=data.since,
            until=data.until,
            actor=principal.actor,
            wake_outbox=runtime.wake_outbox,
        )
        return {"replayed": count}
