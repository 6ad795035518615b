"""Request dependencies of the regulator API: the authenticated principal and scope checks."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, authenticate
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["CurrentPrincipal", "RuntimeDep", "Session", "provide_principal", "provide_runtime"]

Session = NamedDependency[AsyncSession]
"""The request's database session (provided by the app)."""


async def provide_principal(request: Request[object, object, State], session: Session) -> Principal:
    """The regulator behind the ``Authorization: Bearer sct_…`` header (401 when missing or not valid)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "unauthenticated",
            "send a regulator token as 'Authorization: Bearer sct_…'",
            headers={"www-authenticate": 'Bearer realm="spotcheck"'},
        )
    principal = await authenticate(session, token.strip())
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
