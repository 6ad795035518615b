"""Request dependencies of the regulator API: the authenticated principal and scope checks."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, authenticate
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.problems import ProblemError

__all__ = [
    "CurrentPrincipal",
    "RuntimeDep",
    "Session",
    "provide_principal",
    "provide_runtime",
    "require_bearer_token",
]

Session = NamedDependency[AsyncSession]
"""The request's database session (provided by the app)."""


def _bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The token of the ``Authorization: Bearer …`` header; 401 when there is none."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(
            401,
            "unauthenticated",
            "send a regulator token as 'Authorization: Bearer sct_…'",
            headers={"www-authenticate": 'Bearer realm="spotcheck"'},
        )
    return token.strip()


async def require_bearer_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of the app: a regulator API route refuses a request without a token (401) before reading its body.

    Litestar reads and validates a handler's body before its dependencies, so without this a request with no
    credentials and a bad body learnt about its body (400) instead of being told to authenticate. Only the header's
    presence is checked here: the token itself is checked by :func:`provide_principal`, in the request's own
    transaction, after the body (a made-up token with a bad body still hears about the body, which the public
    OpenAPI document describes anyway). Only routes whose principal comes from a token are concerned (the console's
    comes from its session cookie), and never ``OPTIONS``, which Litestar answers for every path and which carries
    no credentials in a CORS preflight.
    """
    if connection.scope.get("method") == "OPTIONS":
        return
    provider = handler.resolve_dependencies().get("principal")  # resolved once per handler by Litestar
    if provider is not None and provider.dependency is provide_principal:
        _bearer_token(connection)


async def provide_principal(request: Request[object, object, State], session: Session) -> Principal:
    """The regulator behind the ``Authorization: Bearer sct_…`` header (401 when missing or not valid)."""
    principal = await authenticate(session, _bearer_token(request))
    if principal is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "the token is unknown, revoked or expired",
            headers={"www-authenticate": 'Bearer realm="spotcheck", error="invalid_token"'},
        )
    return principal


async def provide_runtime(state: State) -> Runtime:
    """The process runtime (engine, calendar, metrics)."""
    runtime: Runtime = state.runtime
    return runtime


CurrentPrincipal = NamedDependency[Principal]
"""The authenticated regulator of the request."""

RuntimeDep = NamedDependency[Runtime]
"""The process runtime."""
