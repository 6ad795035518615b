"""The platform intake endpoint."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath

from spotcheck.gateway.intake.service import IntakeCommitter, IntakeService
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.deps import Session
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["intake"]


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
    committer: IntakeCommitter = request.app.state.intake
    result = await IntakeService(session, runtime, committer).receive_reply(platform_id, body, headers)
    return {
        "status": result.status,
        "id": result.message_id,
        "type": result.type,
        "detail": result.detail,
        "leaf_hash": result.leaf_hash,
    }
