"""How the console is mounted into the gateway app (used by :func:`spotcheck.gateway.app.create_app`).

Its pages behind the ``officer`` dependency and the CSRF guard, its static files, its response headers and its
error pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from spotcheck.gateway.console import CONSOLE_HANDLERS
from spotcheck.gateway.console.auth import provide_officer
from spotcheck.gateway.console.errors import csrf_guard, with_console_pages
from spotcheck.gateway.console.security import ConsoleHeadersMiddleware

__all__ = ["ConsoleHeadersMiddleware", "console_exception_handlers", "console_routes"]

_STATIC_MAX_AGE = 3600


def console_routes() -> list[ControllerRouterHandler]:
    """The console's pages (every one may ask for ``officer``; every POST passes the CSRF guard) and static files."""
    pages = Router(
        path="/",
        route_handlers=CONSOLE_HANDLERS,
        dependencies={"officer": Provide(provide_officer)},
        before_request=csrf_guard,
        include_in_schema=False,
    )
    static_dir = Path(str(files("spotcheck.gateway.console") / "static"))
    static = create_static_files_router(
        path="/console/static",
        directories=[static_dir],
        name="console-static",
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=_STATIC_MAX_AGE, private=True),
    )
    return [pages, static]


def console_exception_handlers(handlers: Mapping[type[Exception] | int, Any]) -> dict[type[Exception] | int, Any]:
    """The app's exception handlers, answering with Chinese error pages (or the login redirect) under ``/console``."""
    return with_console_pages(handlers)
