"""The platform intake endpoint."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath

from spotcheck.gateway.intake.service import IntakeCommitter, IntakeService
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.problems import field_error

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
async def intake(platform_id: FromPath[str], request: Request[Any, Any, State]) -> dict[str, Any]:
    """Verify, deduplicate, validate and apply a platform reply."""
    # No request session: the platform's keys are usually cached, and the reply is stored by the group commit.
    # The headers are read straight from the ASGI scope: this is the busiest route.
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.scope["headers"]}
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise field_error(415, "content-type", "send the reply as application/json", code="unsupported-media-type")
    body = await request.body()
    runtime: Runtime = request.app.state.runtime
    committer: IntakeCommitter = request.app.state.intake
    result = await IntakeService(runtime, committer).receive_reply(platform_id, body, headers)
    return {
        "status": result.status,
        "id": result.message_id,
        "type": result.type,
        "detail": result.detail,
        "leaf_hash": result.leaf_hash,
    }
