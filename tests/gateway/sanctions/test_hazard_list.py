"""The hazard list (名单, 四(二)): hazardous products failing a mandatory standard, published and announced."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from spotcheck.gateway.store.models import AuditRecord, OutboundMessage
from spotcheck.gateway.store.models_public import Announcement

from .conftest import Bureau

pytestmark = pytest.mark.postgres

_ATOM = "{http://www.w3.org/2005/Atom}"


def _atom_entries(body: bytes) -> list[ElementTree.Element]:
    return ElementTree.fromstring(body).findall(f"{_ATOM}entry")  # noqa: S314 - the gateway's own output


async def _listed_case(bureau: Bureau, publish_case: Any, *, trademark: str = "暖暖") -> str:
    case_id: str = await publish_case(
        bureau.gw, bureau.token, bureau.platform_id, shop="shop-h", trademark=trademark, hazardous=True
    )
    await bureau.gw.post(f"/v1/cases/{case_id}/delisting", bureau.token, {"mandatory_standard": "GB 4706.1-2005"})
    return case_id


async def test_delisting_publishes_the_hazard_list_entry_per_clause_4_2(bureau: Bureau, publish_case: Any) -> None:
    """四(二): the entry shows trademark, spec/model, product, manufacturer, failing items, basis and date."""
    case_id = await _listed_case(bureau, publish_case)
    listed = (await bureau.gw.client.get("/public/hazard-list.json")).json()
    assert listed["total"] == 1
    entry = listed["items"][0]
    assert (entry["case_id"], entry["trademark"], entry["spec_model"], entry["product"]) == (
        case_id,
        "暖暖",
        "MK-HJ1705",
        "电热水壶",
    )
    assert entry["manufacturer_name"] == "佛山某某电器制造有限公司"
    assert entry["failing_items"] == ["泄漏电流"]
    assert entry["mandatory_standard"] == "GB 4706.1-2005"
    assert "GB 4706.1-2005" in entry["basis"]
    assert "四(二)" in entry["basis"]
    assert entry["listed_at"]
    assert entry["url"] == f"https://spotcheck.example.gov.cn/public/hazard-list/{entry['id']}"

    page = await bureau.gw.client.get("/public/hazard-list")
    assert page.status_code == 200
    assert "暖暖" in page.text
    assert "MK-HJ1705" in page.text
    assert "泄漏电流" in page.text
    one = await bureau.gw.client.get(f"/public/hazard-list/{entry['id']}")
    assert one.status_code == 200
    assert "辖区内线下经营者" in one.text

    feed = await bureau.gw.client.get("/public/hazard-list.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = _atom_entries(feed.content)
    assert [e.findtext(f"{_ATOM}id") for e in entries] == [entry["url"]]


async def test_listing_orders_every_platform_and_announces_to_offline_merchants_per_clause_4_2(
    bureau: Bureau, publish_case: Any
) -> None:
    """四(二): every registered platform is ordered; the jurisdiction's offline merchants get an announcement."""
    case_id = await _listed_case(bureau, publish_case)
    async with bureau.gw.sessions() as session:
        orders = (
            await session.scalars(
                select(OutboundMessage).where(
                    OutboundMessage.case_id == case_id, OutboundMessage.message_type == "delisting.order"
                )
            )
        ).all()
        announcement = await session.scalar(select(Announcement).where(Announcement.feed == "hazard-list"))
        audited = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "hazard_list.published", AuditRecord.subject == case_id)
        )
    assert sorted(m.recipient_id for m in orders) == [bureau.platform_id, bureau.other_platform_id]
    assert announcement is not None
    # Each order points the platform at the published entry, with the moment it was published.
    entry = (await bureau.gw.client.get("/public/hazard-list.json")).json()["items"][0]
    for order in orders:
        data = json.loads(order.body)["data"]
        assert data["list_url"] == entry["url"]
        assert data["list_published_at"] == entry["listed_at"]
    assert announcement.recipient_name == "辖区内线下经营者"
    assert "立即停止销售该名单中同一商标（暖暖）的同一规格型号（MK-HJ1705）" in announcement.text
    body = json.loads(announcement.body)
    assert body["data"]["addressee"] == "辖区内线下经营者"
    assert body["data"]["jurisdiction_division"] == "330000"
    assert audited is not None
    assert audited.detail["platforms"] == sorted([bureau.platform_id, bureau.other_platform_id])
    # The announcement is on the public announcements list, addressed to the offline merchants.
    page = await bureau.gw.client.get(f"/public/announcements/{announcement.id}")
    assert page.status_code == 200
    assert "辖区内线下经营者" in page.text


async def test_a_second_delisting_order_keeps_one_entry_per_clause_4_2(bureau: Bureau, publish_case: Any) -> None:
    """四(二): ordering again re-sends to platforms but the product stays listed once, announced once."""
    case_id = await _listed_case(bureau, publish_case)
    await bureau.gw.post(f"/v1/cases/{case_id}/delisting", bureau.token, {"mandatory_standard": "GB 4706.1-2005"})
    assert (await bureau.gw.client.get("/public/hazard-list.json")).json()["total"] == 1
    async with bureau.gw.sessions() as session:
        announcements = (await session.scalars(select(Announcement).where(Announcement.feed == "hazard-list"))).all()
    assert len(announcements) == 1


async def test_a_merely_failing_product_is_not_listed_per_clause_4_2(bureau: Bureau, publish_case: Any) -> None:
    """四(二): the list is for products that are hazardous AND fail a mandatory standard; others are refused."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-f")
    await bureau.gw.post(f"/v1/cases/{case_id}/delisting", bureau.token, {"mandatory_standard": "GB 1"}, expect=409)
    assert (await bureau.gw.client.get("/public/hazard-list.json")).json()["total"] == 0


async def test_hazard_list_escapes_free_text_per_clause_4_2(bureau: Bureau, publish_case: Any) -> None:
    """四(二): a trademark with markup is shown as text on the page and in the feed, never as markup."""
    await _listed_case(bureau, publish_case, trademark="<script>alert(1)</script>")
    page = await bureau.gw.client.get("/public/hazard-list")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    feed = await bureau.gw.client.get("/public/hazard-list.atom")
    titles = [e.findtext(f"{_ATOM}title") for e in _atom_entries(feed.content)]
    assert titles == ["电热水壶（<script>alert(1)</script> MK-HJ1705）列入停止销售名单"]


async def test_hazard_list_bad_query_and_unknown_entry_per_clause_4_2(bureau: Bureau) -> None:
    """四(二): a malformed page number answers 400 naming the parameter; an unknown entry 404."""
    bad = await bureau.gw.client.get("/public/hazard-list.json", params={"page": "x"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "page"
    assert (await bureau.gw.client.get("/public/hazard-list", params={"per_page": "0"})).status_code == 400
    assert (await bureau.gw.client.get("/public/hazard-list/haz_nope")).status_code == 404
