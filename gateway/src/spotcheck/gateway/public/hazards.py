"""The hazard list (名单, the opinion's 四(二)): products that endanger life or property and fail a mandatory standard.

* ``/public/hazard-list`` (HTML), ``/public/hazard-list.json``, ``/public/hazard-list.atom``;
* ``/public/hazard-list/{id}``: one entry, with the announcement that addressed the offline merchants.

Each entry shows the trademark, spec/model, product, labelled manufacturer, failing items, basis and date. Once
the list is published, every merchant, online and offline, stops selling the same trademark and spec/model.
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
from spotcheck.gateway.store.models_sanctions import HazardListing
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = [
    "PublicHazardListController",
    "PublicHazardListing",
    "get_hazard_listing",
    "list_hazard_listings",
    "listing_json",
]

_LISTING_ID: Final = re.compile(r"\Ahaz_[0-9A-Z]{26}\Z")


# ---- reads -----------------------------------------------------------------------------------------------------


class PublicHazardListing(msgspec.Struct, kw_only=True, frozen=True):
    """One entry of the list as published.

    Attributes:
        id: the entry (its address is ``/public/hazard-list/{id}``).
        case_id: the sampling case.
        product: 商品名称.
        trademark: 商标.
        spec_model: 规格型号.
        manufacturer_name: 标称生产者 (None when none is labelled).
        failing_items: 不合格项目 (item names).
        mandatory_standard: the mandatory standard failed.
        basis: 依据 (the standard and the opinion's clause).
        authority_name: the publishing authority.
        listed_at: 公布日期.
        announcement_id: the announcement to the offline merchants of the jurisdiction.
    """

    id: str
    case_id: str
    product: str
    trademark: str
    spec_model: str
    manufacturer_name: str | None
    failing_items: list[str]
    mandatory_standard: str
    basis: str
    authority_name: str
    listed_at: datetime
    announcement_id: str | None


def _public(row: HazardListing) -> PublicHazardListing:
    return PublicHazardListing(
        id=row.id,
        case_id=row.case_id,
        product=row.product,
        trademark=row.trademark,
        spec_model=row.spec_model,
        manufacturer_name=row.manufacturer_name,
        failing_items=[str(item.get("item", "")) for item in row.failing_items if isinstance(item, dict)],
        mandatory_standard=row.mandatory_standard,
        basis=row.basis,
        authority_name=row.authority_name,
        listed_at=row.listed_at,
        announcement_id=row.announcement_id,
    )


async def list_hazard_listings(
    session: AsyncSession, *, page: int, per_page: int
) -> tuple[list[PublicHazardListing], int]:
    """One page of the list, newest first, and how many entries there are."""
    total = int(await session.scalar(select(func.count(HazardListing.id))) or 0)
    rows = await session.scalars(
        select(HazardListing)
        .order_by(HazardListing.listed_at.desc(), HazardListing.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [_public(row) for row in rows], total


async def get_hazard_listing(session: AsyncSession, listing_id: str) -> PublicHazardListing | None:
    """One entry, or None."""
    row = await session.get(HazardListing, listing_id)
    return _public(row) if row is not None else None


def listing_json(item: PublicHazardListing, base: str) -> dict[str, Any]:
    """An entry as the JSON list shows it."""
    return {
        "id": item.id,
        "case_id": item.case_id,
        "product": item.product,
        "trademark": item.trademark,
        "spec_model": item.spec_model,
        "manufacturer_name": item.manufacturer_name,
        "failing_items": item.failing_items,
        "mandatory_standard": item.mandatory_standard,
        "basis": item.basis,
        "authority_name": item.authority_name,
        "listed_at": item.listed_at,
        "url": f"{base}/public/hazard-list/{item.id}",
        "result_url": f"{base}/public/results/{item.case_id}",
        "announcement_url": f"{base}/public/announcements/{item.announcement_id}" if item.announcement_id else None,
    }


class PublicHazardListController(Controller):
    """停止销售名单: the published list of hazardous products that fail a mandatory standard."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012

    @get("/hazard-list", summary="The hazard list (HTML, paginated)", media_type=MediaType.HTML)
    async def hazard_list_page(self, request: Request[Any, Any, State], session: Session) -> Response[str]:
        """Trademark, spec/model, product, labelled manufacturer, failing items, basis and date of each entry."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            return bad_query_page(exc)
        items, total = await list_hazard_listings(session, page=paging.page, per_page=paging.per_page)
        return html_page(
            render("hazard_list.html", listings=items, paging=page_links("/public/hazard-list", {}, paging, total))
        )

    @get("/hazard-list/{listing_id:str}", summary="One hazard-list entry (HTML)", media_type=MediaType.HTML)
    async def hazard_listing_page(self, listing_id: FromPath[str], session: Session) -> Response[str]:
        """An entry with every published field; 404 when there is none."""
        item = await get_hazard_listing(session, listing_id) if _LISTING_ID.match(listing_id) else None
        if item is None:
            return error_page(404, "未找到", "名单中没有该条目。")
        return html_page(render("hazard_listing.html", listing=item))

    @get("/hazard-list.json", summary="The hazard list (JSON, same pages as the HTML list)")
    async def hazard_list_json(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[dict[str, Any]]:
        """A page of entries with ``total``, ``page``, ``per_page`` and the next page's address."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        items, total = await list_hazard_listings(session, page=paging.page, per_page=paging.per_page)
        base = base_url(runtime)
        items_json = [listing_json(item, base) for item in items]
        return json_page(items_json, total=total, paging=paging, path="/public/hazard-list.json", base=base)

    @get("/hazard-list.atom", summary="The hazard list (Atom feed, newest 50)", media_type=ATOM_MEDIA_TYPE)
    async def hazard_list_atom(self, session: Session, runtime: RuntimeDep) -> Response[str]:
        """The newest entries as an Atom 1.0 feed."""
        items, _ = await list_hazard_listings(session, page=1, per_page=FEED_SIZE)
        body = render("hazard_list.atom.xml", listings=items, base_url=base_url(runtime), now=utcnow())
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers=FEED_HEADERS)
