"""Logging in and out of the console, and the ``officer`` every console page depends on.

An officer's session becomes the same :class:`~spotcheck.gateway.access.Principal` a token does (scopes from the
role, jurisdiction from the authority and its entrustments), so every page is allowed exactly what the API would
allow, and every audit record names the officer: ``authority:<id>/officer:<username>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, principal_of
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.console.accounts import ROLE_LABELS, ROLE_SCOPES, AccountService, officer_actor
from spotcheck.gateway.console.errors import LoginRequiredError
from spotcheck.gateway.console.render import bj, page
from spotcheck.gateway.console.security import SESSION_COOKIE, safe_next, session_cookie
from spotcheck.gateway.console.sessions import end_session, open_session, resolve_session
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import ConsoleSettings
from spotcheck.gateway.web.deps import Session

__all__ = ["CurrentOfficer", "LoginController", "Officer", "officer_for_session", "provide_officer"]

_OFFICER_STATE: Final = "spotcheck.console_officer"
_MAX_FIELD: Final = 256
BAD_CREDENTIALS: Final = "用户名或密码不正确，或该账户已停用。"
LOCKED: Final = "连续登录失败次数过多，该账户已暂时锁定，请于 {until} 之后再试。"


@dataclass(frozen=True)
class Officer:
    """The logged-in officer of a console request, with the principal the services check."""

    id: str
    username: str
    display_name: str
    role: str
    authority_id: str
    authority_name: str
    principal: Principal

    @property
    def role_label(self) -> str:
        """The role in Chinese (执法人员, 审核人, 管理员)."""
        return ROLE_LABELS.get(self.role, self.role)


CurrentOfficer = NamedDependency[Officer]
"""Annotate a console handler's parameter with this: ``officer: CurrentOfficer`` (Litestar wants dependencies named)."""


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _officer_of(request: Request[Any, Any, Any], db: AsyncSession | None = None) -> Officer | None:
    """The officer behind the request's session cookie (resolved once per request), or None.

    ``db`` is the request's own database session when the caller has it: the officer is then read in the same
    connection and transaction as the page (one connection checkout, one transaction per page instead of two).
    """
    state = request.scope.setdefault("state", {})
    if _OFFICER_STATE in state:
        cached: Officer | None = state[_OFFICER_STATE]
        return cached
    officer: Officer | None = None
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id:
        settings = _runtime(request).settings.console
        if db is not None:
            officer = await officer_for_session(db, session_id, settings)
        else:
            async with _runtime(request).sessions() as own:
                officer = await officer_for_session(own, session_id, settings)
    state[_OFFICER_STATE] = officer
    return officer


async def officer_for_session(db: AsyncSession, session_id: str, settings: ConsoleSettings) -> Officer | None:
    """The officer of a live console session, with the principal the services check (None: no such live session).

    Scopes come from the role (:data:`~spotcheck.gateway.console.accounts.ROLE_SCOPES`); the jurisdiction is the
    authority's own area and its entrustments, built by the same function as a token's.
    """
    active = await resolve_session(db, session_id, settings)
    if active is None:
        return None
    account = active.officer
    principal = await principal_of(
        db,
        account.authority_id,
        token_id=account.id,
        scopes=ROLE_SCOPES.get(account.role, frozenset({"read"})),
        officer=account.username,
    )
    if principal is None:
        return None
    return Officer(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        authority_id=account.authority_id,
        authority_name=active.authority.name,
        principal=principal,
    )


async def provide_officer(request: Request[Any, Any, State], session: Session) -> Officer:
    """The ``officer`` dependency: the logged-in officer, or a 303 to ``/console/login?next=<this page>``.

    Read through the request's ``session`` (the page's own), which the handler then goes on using.
    """
    officer = await _officer_of(request, session)
    if officer is None:
        next_path = request.url.path
        if request.method != "GET":
            next_path = "/console/"  # a form cannot be re-sent after logging in; come back to the dashboard
        elif request.url.query:
            next_path = f"{next_path}?{request.url.query}"
        raise LoginRequiredError(next_path)
    return officer


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:_MAX_FIELD] if isinstance(value, str) else ""


class LoginController(Controller):
    """``/console/login`` (form and check) and ``/console/logout``."""

    path = "/console"

    @get("/login", summary="登录", include_in_schema=False)
    async def login_form(self, request: Request[Any, Any, State]) -> Response[Any]:
        """The login form (``?next=`` a console page to go on to); an officer already logged in goes straight on."""
        target = safe_next(request.query_params.get("next"))
        if await _officer_of(request) is not None:
            return Response(b"", status_code=303, headers={"location": target})
        return page(request, "console/login.html", None, next=target, username="", error=None, errors={})

    @post("/login", summary="登录", include_in_schema=False, status_code=303)
    async def login(self, request: Request[Any, Any, State], session: Session) -> Response[Any]:
        """Check the username and password; on success open a session and go on to ``next``."""
        form = await request.form()
        username, password = _field(form, "username").strip(), _field(form, "password")
        target = safe_next(_field(form, "next"))
        errors = {}
        if not username:
            errors["username"] = "请输入用户名"
        if not password:
            errors["password"] = "请输入密码"  # noqa: S105 - a message, not a password
        if errors:
            return page(
                request, "console/login.html", None, status_code=400, next=target, username=username, error=None,
                errors=errors,
            )  # fmt: skip
        runtime = _runtime(request)
        outcome = await AccountService(session, runtime.settings.console).verify_login(username, password)
        if not outcome.ok or outcome.officer is None:
            status, message = 401, BAD_CREDENTIALS
            if outcome.refusal == "locked":
                status, message = 429, LOCKED.format(until=bj(outcome.locked_until))
            return page(
                request, "console/login.html", None, status_code=status, next=target, username=username,
                error=message, errors={},
            )  # fmt: skip
        old = request.cookies.get(SESSION_COOKIE, "")
        if old:
            await end_session(session, old)  # a fresh id at every login: no session fixation
        session_id = await open_session(session, outcome.officer, runtime.settings.console)
        await session.commit()
        response: Response[Any] = Response(b"", status_code=303, headers={"location": target})
        response.set_cookie(session_cookie(request, session_id, max_age=None))
        return response

    @post("/logout", summary="退出登录", include_in_schema=False, status_code=303)
    async def logout(self, request: Request[Any, Any, State], session: Session) -> Response[Any]:
        """End this session (recorded in the audit trail) and go back to the login page."""
        session_id = request.cookies.get(SESSION_COOKIE, "")
        account = await end_session(session, session_id) if session_id else None
        if account is not None:
            actor = officer_actor(account)
            await append_audit(session, actor=actor, action="console.logout", subject=f"officer:{account.username}")
        await session.commit()
        response: Response[Any] = Response(b"", status_code=303, headers={"location": "/console/login"})
        response.set_cookie(session_cookie(request, "", max_age=0))
        return response
