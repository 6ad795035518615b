"""What every page and feed of the public site shares: headers, error pages, query reading, the JSON list envelope.

The results, announcements, hazard list, warnings and penalties all answer the same way: HTML pages with a strict
Content-Security-Policy and a Chinese 400 page for a query they cannot use; JSON and Atom feeds with a 400 problem
naming the parameter instead.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response
from litestar.datastructures import State
from litestar.enums import MediaType

from spotcheck.gateway.public.render import BadQueryError, Paging, page_links, render
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.problems import ProblemError, field_error

__all__ = [
    "ATOM_MEDIA_TYPE",
    "FEED_HEADERS",
    "FEED_SIZE",
    "PAGE_HEADERS",
    "bad_query",
    "bad_query_page",
    "base_url",
    "error_page",
    "html_page",
    "json_page",
    "query_params",
]

ATOM_MEDIA_TYPE: Final = "application/atom+xml; charset=utf-8"
FEED_SIZE: Final = 50
"""Entries in an Atom feed (the newest)."""
PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "public, max-age=60",
}
FEED_HEADERS: Final = {"x-content-type-options": "nosniff", "cache-control": "public, max-age=60"}


def query_params(request: Request[Any, Any, State]) -> dict[str, str]:
    """The first value of each query parameter; repeated parameters beyond it are ignored."""
    params: dict[str, str] = {}
    for key, value in request.query_params.items():
        params.setdefault(key, value)
    return params


def html_page(body: str, status_code: int = 200) -> Response[str]:
    """An HTML page with the public site's strict headers."""
    return Response(body, media_type=MediaType.HTML, status_code=status_code, headers=PAGE_HEADERS)


def error_page(status_code: int, title: str, message: str) -> Response[str]:
    """The public site's error page."""
    return html_page(render("error.html", status=status_code, title=title, message=message), status_code)


def bad_query_page(exc: BadQueryError) -> Response[str]:
    """A malformed query of an HTML page: the 400 page naming the parameter and why, in Chinese."""
    return error_page(400, "查询条件有误", f"参数 {exc.field}：{exc.reason}")


def bad_query(exc: BadQueryError) -> ProblemError:
    """A malformed query of a data format, as a 400 problem naming the parameter."""
    return field_error(400, exc.field, exc.reason, code="invalid-query")


def base_url(runtime: Runtime) -> str:
    """The public site's address without a trailing slash."""
    return runtime.settings.http.public_base_url.rstrip("/")


def json_page(
    items: list[dict[str, Any]],
    *,
    total: int,
    paging: Paging,
    path: str,
    base: str,
    filters: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """One page of a public JSON list: the items with ``total``, ``page``, ``per_page`` and the next page's address."""
    links = page_links(path, filters or {}, paging, total)
    body = {
        "items": items,
        "total": total,
        "page": paging.page,
        "per_page": paging.per_page,
        "next": f"{base}{links['next']}" if links["next"] else None,
    }
    return Response(body, headers=FEED_HEADERS)
