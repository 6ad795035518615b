"""Per-request context: a request id bound into every log line and echoed in ``x-request-id``, and metrics."""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from spotcheck.gateway.store.types import new_id

__all__ = ["SESSION_STATE_KEY", "RequestContextMiddleware"]

SESSION_STATE_KEY = "spotcheck.db_session"
"""Where the request's database session waits in ``scope["state"]`` until its dependency closes it."""

_log = structlog.get_logger("spotcheck.gateway.http")
_MAX_INCOMING_ID = 128


class RequestContextMiddleware(ASGIMiddleware):
    """Give each HTTP request an id (the caller's ``x-request-id`` when sane) and record its outcome."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Bind the id for the duration of the request and count it on the way out."""
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= _MAX_INCOMING_ID and incoming.isprintable() else new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                headers["x-request-id"] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await next_app(scope, receive, send_with_id)
        finally:
            stranded = scope.get("state", {}).pop(SESSION_STATE_KEY, None)
            if stranded is not None:
                # A dependency failed after the session opened and Litestar skipped its clean-up.
                try:
                    await stranded.close()
                except Exception as exc:  # noqa: BLE001 - the answer is sent; log and still count the request
                    _log.warning("closing a stranded session failed", error=f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            app_state: Any = scope["app"].state
            runtime = getattr(app_state, "runtime", None)
            if runtime is not None:
                runtime.metrics.requests.labels(str(scope.get("method", "")), route, str(status_holder["status"])).inc()
                runtime.metrics.request_seconds.labels(route).observe(elapsed)
            # The route template, never the query string: it could carry a token someone pasted into a URL.
            _log.info(
                "request",
                method=str(scope.get("method", "")),
                route=route,
                status=status_holder["status"],
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id", "case_id", "message_id")


def _route_of(scope: Scope) -> str:
    # The route template ("/v1/cases/{case_id:str}"), not the raw path, keeps metric label cardinality bounded.
    template = scope.get("path_template")
    return str(template) if template else "unmatched"
