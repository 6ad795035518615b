"""The public list of random draws (双随机一公开): every commitment, and every reveal with its selection.

``/public/draws.json`` is ``{"draws": [record, …]}`` in exactly the SDK's record format, so that
``spotcheck-sdk draws verify https://…/public/draws.json`` recomputes each draw; ``/public/draws`` is the page.
Candidates are published as ids; the page names the selected merchants, a natural person's name masked.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Response, get
from litestar.enums import MediaType

from spotcheck.gateway.plans.service import published_draws, selected_parties
from spotcheck.gateway.public.pages import PAGE_HEADERS
from spotcheck.gateway.public.render import render
from spotcheck.gateway.public.results import mask_personal_name
from spotcheck.gateway.web.deps import Session

__all__ = ["PublicDrawsController"]

# A reveal must show at once: the site's page headers, without its one-minute cache.
_HEADERS: Final = {**PAGE_HEADERS, "cache-control": "no-cache"}


def _party_name(kind: str, shop_name: str, legal_name: str | None) -> str:
    if kind == "natural_person":
        masked = mask_personal_name(legal_name or "")
        return f"{shop_name}（经营者：{masked}）" if masked else shop_name
    return legal_name or shop_name


class PublicDrawsController(Controller):
    """随机抽查结果公开: the draws, for people (HTML) and for the SDK's verifier (JSON)."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/draws.json", summary="Every random draw in the SDK's record format (verify with spotcheck-sdk)")
    async def draws_json(self, session: Session) -> Response[bytes]:
        """``{"draws": [record, …]}``, oldest first; a commitment not yet revealed has null reveal fields."""
        records = await published_draws(session)
        body = msgspec.json.encode({"draws": records})
        return Response(body, media_type=MediaType.JSON, headers={"cache-control": "no-cache"})

    @get("/draws", summary="Random draws (HTML)", media_type=MediaType.HTML)
    async def draws_page(self, session: Session) -> Response[str]:
        """随机抽查: plan number, scope, candidates digest, commitment, beacon, seed and the selection."""
        records = await published_draws(session)
        selected = [mid for record in records for mid in record.selected or ()]
        parties = await selected_parties(session, selected)
        names: dict[str, Any] = {mid: _party_name(*party) for mid, party in parties.items()}
        body = render("draws.html", draws=list(reversed(records)), names=names)
        return Response(body, media_type=MediaType.HTML, headers=_HEADERS)
