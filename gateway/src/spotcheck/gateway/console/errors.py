"""How the console refuses and fails: the CSRF guard, the login redirect, and error pages instead of problems.

The JSON API answers errors with RFC 9457 problems; under ``/console`` the same errors become a page in Chinese
(403, 404, 405, 5xx), and a request without a live session is sent to the login page (303; htmx requests get
``HX-Redirect``). Everywhere else the API's own handlers answer exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

import structlog
from litestar import Request, Response

from spotcheck.gateway.console.render import error_page, problem_message
from spotcheck.gateway.console.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_PATH,
    csrf_matches,
    is_console_path,
)
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["LoginRequiredError", "csrf_guard", "login_redirect", "with_console_pages"]

_log = structlog.get_logger("spotcheck.gateway.console")
_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_REFUSED: Final = "表单已失效或来源不明（缺少有效的安全令牌），操作未执行。请返回上一页，刷新后重新提交。"

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


class LoginRequiredError(Exception):
    """Raised by the ``officer`` dependency when the request has no live session; answered by the login redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def login_redirect(request: Request[Any, Any, Any], next_path: str) -> Response[Any]:
    """To the login page, coming back to ``next_path`` afterwards (htmx: a full-page redirect)."""
    target = f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=401, headers={"hx-redirect": target})
    return Response(b"", status_code=303, headers={"location": target})


async def csrf_guard(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Before every console handler: refuse an unsafe method without this session's CSRF token (403 page)."""
    if request.method not in _UNSAFE_METHODS:
        return None
    presented = request.headers.get(CSRF_HEADER)
    if not presented:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type in _FORM_TYPES:
            value = (await request.form()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if csrf_matches(request, presented):
        return None
    _log.warning("console CSRF token refused", path=request.url.path, presented=bool(presented))
    return error_page(request, 403, CSRF_REFUSED)


def _console_handler(original: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        if not is_console_path(request.url.path):
            return original(request, exc)
        if isinstance(exc, LoginRequiredError):
            return login_redirect(request, exc.next_path)
        # The API's handler decides the status (and logs as it does for the API: a 5xx with its traceback);
        # the officer gets a page with that status instead of the problem document.
        status = original(request, exc).status_code or 500
        message = problem_message(exc) if isinstance(exc, ProblemError) and status < 500 else None  # noqa: PLR2004
        page = error_page(request, status, message)
        if status == 503:  # noqa: PLR2004
            page.headers["retry-after"] = "5"
        return page

    return handle


def _redirect_only(request: Request[Any, Any, Any], exc: LoginRequiredError) -> Response[Any]:
    return login_redirect(request, exc.next_path)


def with_console_pages(handlers: Mapping[type[Exception] | int, Any]) -> dict[type[Exception] | int, Any]:
    """The app's exception handlers, answering with console pages under ``/console`` and unchanged elsewhere."""
    wrapped: dict[type[Exception] | int, Any] = {key: _console_handler(value) for key, value in handlers.items()}
    wrapped[LoginRequiredError] = _redirect_only
    return wrapped
