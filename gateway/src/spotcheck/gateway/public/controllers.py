"""The public pages: published results (HTML, JSON, Atom, CSV), announcements (HTML, Atom), audit checkpoints.

No login. Pages work without JavaScript and send a strict Content-Security-Policy; a malformed query answers
400 (an HTML page for pages, a problem document for data formats), an unknown address 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from spotcheck.gateway.audit.service import CHECKPOINT_TYPE, AuditService, checkpoint_document, signing_key_for
from spotcheck.gateway.public.announcements import get_announcement, list_announcements
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
from spotcheck.gateway.public.render import (
    BadQueryError,
    csv_header,
    csv_rows,
    filter_params,
    page_links,
    parse_filters,
    parse_paging,
    render,
)
from spotcheck.gateway.public.results import (
    CONCLUSION_LABELS,
    PublicResult,
    ResultFilters,
    get_result,
    iter_results,
    search_results,
)
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime

__all__ = ["PublicController"]

_MAX_CHECKPOINTS: Final = 1000
_CASE_ID: Final = re.compile(r"\Acase_[0-9A-Z]{26}\Z")
_ANNOUNCEMENT_ID: Final = re.compile(r"\Aann_[0-9A-Z]{26}\Z")
_STYLESHEET: Final = (files("spotcheck.gateway.public") / "static" / "site.css").read_bytes()


def _result_json(result: PublicResult, base_url: str) -> dict[str, Any]:
    return {
        "case_id": result.case_id,
        "sample_name": result.sample_name,
        "merchant_name": result.merchant_name,
        "shop_name": result.shop_name,
        "trademark": result.trademark,
        "manufacturer_name": result.manufacturer_name,
        "spec_model": result.spec_model,
        "production_date": result.production_date,
        "main_failing_items": result.main_failing_items,
        "conclusion": result.conclusion,
        "conclusion_label": result.conclusion_label,
        "platform_name": result.platform_name,
        "authority_name": result.authority_name,
        "report_no": result.report_no,
        "institution": result.institution,
        "published_at": result.published_at,
        "url": f"{base_url}/public/results/{result.case_id}",
    }


class PublicController(Controller):
    """抽检结果公布 and 公告送达: what the public reads on the regulator's site."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012

    @get("/", summary="The public site's entry: the results list", include_in_schema=False)
    async def index(self) -> Redirect:
        """Send visitors to the results list."""
        return Redirect("/public/results")

    @get("/static/site.css", summary="Stylesheet of the public pages", include_in_schema=False)
    async def stylesheet(self) -> Response[bytes]:
        """The one stylesheet (pages use no scripts)."""
        return Response(
            _STYLESHEET,
            media_type="text/css",
            headers={"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"},
        )

    # ---- results -------------------------------------------------------------------------------------------

    @get("/results", summary="Published results (HTML, searchable, paginated)", media_type=MediaType.HTML)
    async def results_page(self, request: Request[Any, Any, State], session: Session) -> Response[str]:
        """The results list with search by trademark, manufacturer, platform, conclusion and publication date."""
        params = query_params(request)
        try:
            filters, paging = parse_filters(params), parse_paging(params)
        except BadQueryError as exc:
            return bad_query_page(exc)
        results, total = await search_results(session, filters, page=paging.page, per_page=paging.per_page)
        query = filter_params(filters)
        return html_page(
            render(
                "results.html",
                results=results,
                filters=filters,
                query=query,
                paging=page_links("/public/results", query, paging, total),
                per_page=paging.per_page,
                conclusions=CONCLUSION_LABELS,
                exports=_export_links(query),
            )
        )

    @get("/results/{case_id:str}", summary="One published result (HTML)", media_type=MediaType.HTML)
    async def result_page(self, case_id: FromPath[str], session: Session) -> Response[str]:
        """A result with every published field; 404 when the case is unknown or unpublished."""
        result = await get_result(session, case_id) if _CASE_ID.match(case_id) else None
        if result is None:
            return error_page(404, "未找到", "没有该抽检结果，或结果尚未公布。")
        return html_page(render("result.html", result=result))

    @get("/results.json", summary="Published results (JSON, same filters and pages as the HTML list)")
    async def results_json(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[dict[str, Any]]:
        """A page of results as JSON with ``total``, ``page``, ``per_page`` and the next page's address."""
        params = query_params(request)
        try:
            filters, paging = parse_filters(params), parse_paging(params)
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        results, total = await search_results(session, filters, page=paging.page, per_page=paging.per_page)
        base = base_url(runtime)
        return json_page(
            [_result_json(result, base) for result in results],
            total=total,
            paging=paging,
            path="/public/results.json",
            base=base,
            filters=filter_params(filters),
        )

    @get("/results.atom", summary="Published results (Atom feed, newest 50)", media_type=ATOM_MEDIA_TYPE)
    async def results_atom(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[str]:
        """The newest results matching the filters as an Atom 1.0 feed."""
        try:
            filters = parse_filters(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        results, _ = await search_results(session, filters, page=1, per_page=FEED_SIZE)
        body = render("results.atom.xml", results=results, base_url=base_url(runtime), now=utcnow())
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers=FEED_HEADERS)

    @get("/results.csv", summary="Published results (CSV, UTF-8 with BOM for Excel)", media_type="text/csv")
    async def results_csv(self, request: Request[Any, Any, State], runtime: RuntimeDep) -> Stream:
        """Every matching result as CSV, streamed in batches."""
        try:
            filters = parse_filters(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        return Stream(
            _csv_stream(runtime, filters),
            media_type="text/csv; charset=utf-8",
            headers={**FEED_HEADERS, "content-disposition": 'attachment; filename="spotcheck-results.csv"'},
        )

    # ---- announcements ---------------------------------------------------------------------------------------

    @get("/announcements", summary="Announcements to unreachable parties (HTML)", media_type=MediaType.HTML)
    async def announcements_page(self, request: Request[Any, Any, State], session: Session) -> Response[str]:
        """公告送达: notices served by announcement because their addressee could not be reached (三(二))."""
        try:
            paging = parse_paging(query_params(request))
        except BadQueryError as exc:
            return bad_query_page(exc)
        items, total = await list_announcements(session, page=paging.page, per_page=paging.per_page)
        return html_page(
            render(
                "announcements.html",
                announcements=items,
                paging=page_links("/public/announcements", {}, paging, total),
            )
        )

    @get("/announcements/{announcement_id:str}", summary="One announcement (HTML)", media_type=MediaType.HTML)
    async def announcement_page(self, announcement_id: FromPath[str], session: Session) -> Response[str]:
        """The announcement's text, the notice it stands for (personal data left out) and the notice's digest."""
        item = await get_announcement(session, announcement_id) if _ANNOUNCEMENT_ID.match(announcement_id) else None
        if item is None:
            return error_page(404, "未找到", "没有该公告。")
        notice_json = json.dumps(item.notice, ensure_ascii=False, indent=2) if item.notice is not None else None
        return html_page(render("announcement.html", announcement=item, notice_json=notice_json))

    @get("/announcements.atom", summary="Announcements (Atom feed, newest 50)", media_type=ATOM_MEDIA_TYPE)
    async def announcements_atom(self, session: Session, runtime: RuntimeDep) -> Response[str]:
        """The newest announcements as an Atom 1.0 feed."""
        items, _ = await list_announcements(session, page=1, per_page=FEED_SIZE)
        body = render("announcements.atom.xml", announcements=items, base_url=base_url(runtime), now=utcnow())
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers=FEED_HEADERS)

    # ---- audit ---------------------------------------------------------------------------------------------

    @get("/audit/checkpoints", summary="Signed checkpoints of the audit chain, newest first")
    async def checkpoints(
        self, request: Request[Any, Any, State], session: Session, runtime: RuntimeDep
    ) -> Response[list[dict[str, Any]]]:
        """Each checkpoint with its Ed25519 signature; check them with the key at ``/public/audit/key``."""
        try:
            limit = _limit(query_params(request))
        except BadQueryError as exc:
            raise bad_query(exc) from exc
        rows = await AuditService(session, runtime.settings).recent_checkpoints(limit)
        return Response([checkpoint_document(row) for row in rows], headers={"cache-control": "no-cache"})

    @get("/audit/key", summary="The gateway's public key for audit checkpoints")
    async def audit_key(self, runtime: RuntimeDep) -> dict[str, str]:
        """The Ed25519 public key (``whpk_…``) that signs the checkpoints, and how the signed bytes are formed."""
        key = signing_key_for(runtime.settings)
        return {
            "public_key": key.public_key,
            "algorithm": "Ed25519",
            "fingerprint": key.fingerprint,
            "signed_form": (
                'UTF-8 JSON, keys sorted, no whitespace: {"at":…,"count":…,"head_hash":…,"seq":…,'
                f'"type":"{CHECKPOINT_TYPE}"}}; signature is base64'
            ),
        }


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return 100
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_CHECKPOINTS:
        raise BadQueryError("limit", f"应在 1 到 {_MAX_CHECKPOINTS} 之间")
    return int(raw)


def _export_links(query: dict[str, str]) -> dict[str, str]:
    suffix = f"?{urlencode(query)}" if query else ""
    return {
        "json": f"/public/results.json{suffix}",
        "csv": f"/public/results.csv{suffix}",
        "atom": f"/public/results.atom{suffix}",
    }


async def _csv_stream(runtime: Runtime, filters: ResultFilters) -> AsyncIterator[bytes]:
    yield csv_header().encode()
    base = base_url(runtime)
    batch: list[PublicResult] = []
    async for result in iter_results(runtime.sessions, filters):
        batch.append(result)
        if len(batch) >= 200:  # noqa: PLR2004 - lines per chunk written to the client
            yield csv_rows(batch, base).encode()
            batch = []
    if batch:
        yield csv_rows(batch, base).encode()
