"""Consumer warnings (消费警示, the opinion's 一 and 六(二)), published by officers, read by the public.

* ``/public/warnings`` (HTML), ``/public/warnings.json``, ``/public/warnings.atom``;
* ``/public/warnings/{id}``: one warning with the results and hazard-list entries it is tied to.

Officers publish through ``POST /v1/warnings`` (:mod:`spotcheck.gateway.sanctions`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import MediaType
from litestar.params import FromPath
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.public.pages import (
    ATOM_MEDIA_TYPE,
    FEED_HEADERS,
    FEED_SIZE,
    bad_query,
    bad_query_page,
    base_url,
    error_page,
    html_page,
    json_page,
    query_params,
)
from spotcheck.gateway.public.render import BadQueryError, page_links, parse_paging, render
from spotcheck.gateway.store.models_sanctions import ConsumerWarning
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = ["PublicWarning", "PublicWarningsController", "get_warning", "list_warnings"]

_WARNING_ID: Final = re.compile(r"\Awarn_[0-9A-Z]{26}\Z")


class PublicWarning(msgspec.Struct, kw_only=True, frozen=True):
    """A consumer warning as published.

    Attributes:
        id: the warning (its address is ``/public/warnings/{id}``).
        title: the title.
        body: the text.
        authority_name: the publishing authority.
        case_ids: the published results it is tied to.
        hazard_listing_ids: the hazard-list entries it is tied to.
        published_at: when it was published.
    """

    id: str
    title: str
    body: str
    authority_name: str
    case_ids: list[str]
    hazard_listing_ids: list[str]
    published_at: datetime


def _public(row: ConsumerWarning) -> PublicWarning:
    return PublicWarning(
        id=row.id,
        title=row.title,
        body=row.body,
        authority_name=row.authority_name,
        case_ids=[str(ident) for ident in row.case_ids],
        hazard_listing_ids=[str(ident) for ident in row.hazard_listing_ids],
        published_at=row.published_at,
    )


async def list_warnings(session: AsyncSession, *, page: int, per_page: int) -> tuple[list[PublicWarning], int]:
    """One page of warnings, newest first, and how many there are."""
    total = int(await session.scalar(select(func.count(ConsumerWarning.id))) or 0)
    rows = await session.scalars(
        select(ConsumerWarning)
        .order_by(ConsumerWarning.published_at.desc(), ConsumerWarning.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [_public(row) for row in rows], total


async def get_warning(session: AsyncSession, warning_id: str) -> PublicWarning | None:
    """One warning, or None."""
    row = await session.get(ConsumerWarning, warning_id)
    return _public(row) if row is not None else None


def _warning_json(item: PublicWarning, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "body": item.body,
        "authority_name": item.authority_name,
        "published_at": item.published_at,
        "results": [f"{base}/public/results/{case_id}" for case_id in item.case_ids],
        "hazard_list": [f"{base}/public/hazard-list/{ident}" for ident in item.hazard_listing_ids],
        "url": f"{base}/public/warnings/{item.id}",
    }


class PublicWarningsController(Controller):
    """消费警示: what the public reads of the warnings officers publish."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012

    @get("/warnings", summary="Consumer warnings (HTML, paginated)", media_type=MediaType.HTML)
    async def warnings_page(self, request: Request[Any, Any, State], session: Session) -> Response[str]:
        """The warnings, newest first."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            return bad_query_page(exc)
        items, total = await list_warnings(session, page=paging.page, per_page=paging.per_page)
        return html_page(
            render("warnings.html", warnings=items, paging=page_links("/public/warnings", {}, paging, total))
        )

    @get("/warnings/{warning_id:str}", summary="One consumer warning (HTML)", media_type=MediaType.HTML)
    async def warning_page(self, warning_id: FromPath[str], session: Session) -> Response[str]:
        """The warning's text and what it is tied to; 404 when there is none."""
        item = await get_warning(session, warning_id) if _WARNING_ID.match(warning_id) else None
        if item is None:
            return error_page(404, "未找到", "没有该消费警示。")
        return html_page(render("warning.html", warning=item))

    @get("/warnings.json", summary="Consumer warnings (JSON, same pages as the HTML list)")
    async def warnings_json(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[dict[str, Any]]:
        """A page of warnings with ``total``, ``page``, ``per_page`` and the next page's address."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        items, total = await list_warnings(session, page=paging.page, per_page=paging.per_page)
        base = base_url(runtime)
        items_json = [_warning_json(item, base) for item in items]
        return json_page(items_json, total=total, paging=paging, path="/public/warnings.json", base=base)

    @get("/warnings.atom", summary="Consumer warnings (Atom feed, newest 50)", media_type=ATOM_MEDIA_TYPE)
    async def warnings_atom(self, session: Session, runtime: RuntimeDep) -> Response[str]:
        """The newest warnings as an Atom 1.0 feed."""
        items, _ = await list_warnings(session, page=1, per_page=FEED_SIZE)
        body = render("warnings.atom.xml", warnings=items, base_url=base_url(runtime), now=utcnow())
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers=FEED_HEADERS)
