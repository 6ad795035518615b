"""Consumer warnings (消费警示, 一 and 六(二)): officers publish them tied to results or the hazard list."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from .conftest import Bureau

pytestmark = pytest.mark.postgres

_ATOM = "{http://www.w3.org/2005/Atom}"


async def test_officer_publishes_a_warning_tied_to_a_result_per_clause_6_2(bureau: Bureau, publish_case: Any) -> None:
    """六(二): a warning tied to a published result appears as HTML, JSON and Atom, linking the result."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-w")
    body = {
        "title": "谨慎选购电热水壶",
        "body": "近期抽检发现部分电热水壶泄漏电流不合格。\n请认准合格产品。",
        "case_ids": [case_id],
    }
    warning = await bureau.gw.post("/v1/warnings", bureau.token, body)
    assert warning["public_url"] == f"https://spotcheck.example.gov.cn/public/warnings/{warning['id']}"

    listed = (await bureau.gw.client.get("/public/warnings.json")).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["title"] == "谨慎选购电热水壶"
    assert item["results"] == [f"https://spotcheck.example.gov.cn/public/results/{case_id}"]
    assert item["authority_name"] == "浙江省市场监督管理局"

    page = await bureau.gw.client.get("/public/warnings")
    assert "谨慎选购电热水壶" in page.text
    one = await bureau.gw.client.get(f"/public/warnings/{warning['id']}")
    assert f'href="/public/results/{case_id}"' in one.text
    feed = await bureau.gw.client.get("/public/warnings.atom")
    entries = ET.fromstring(feed.content).findall(f"{_ATOM}entry")  # noqa: S314 - the gateway's own output
    assert [e.findtext(f"{_ATOM}title") for e in entries] == ["谨慎选购电热水壶"]


async def test_warning_tied_to_the_hazard_list_per_clause_1(bureau: Bureau, publish_case: Any) -> None:
    """一 (商品质量安全风险警示): a warning may point at a hazard-list entry."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-hz", hazardous=True)
    await bureau.gw.post(f"/v1/cases/{case_id}/delisting", bureau.token, {"mandatory_standard": "GB 4706.1-2005"})
    entry = (await bureau.gw.client.get("/public/hazard-list.json")).json()["items"][0]
    body = {"title": "停止使用名单商品", "body": "请立即停止使用。", "hazard_listing_ids": [entry["id"]]}
    warning = await bureau.gw.post("/v1/warnings", bureau.token, body)
    one = await bureau.gw.client.get(f"/public/warnings/{warning['id']}")
    assert f'href="/public/hazard-list/{entry["id"]}"' in one.text


async def test_warning_refusals_name_the_field_per_clause_6_2(bureau: Bureau, publish_case: Any) -> None:
    """六(二): untied, unknown, unpublished links are refused naming the field; a reader token cannot publish."""
    untied = await bureau.gw.post("/v1/warnings", bureau.token, {"title": "t", "body": "b"}, expect=422)
    assert untied["errors"][0]["field"] == "case_ids"
    unknown = await bureau.gw.post(
        "/v1/warnings", bureau.token, {"title": "t", "body": "b", "case_ids": ["case_missing"]}, expect=422
    )
    assert unknown["errors"][0]["field"] == "case_ids[0]"
    draft = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-d", publish=False)
    unpublished = await bureau.gw.post(
        "/v1/warnings", bureau.token, {"title": "t", "body": "b", "case_ids": [draft]}, expect=422
    )
    assert "尚未公布" in unpublished["errors"][0]["reason"]
    no_entry = await bureau.gw.post(
        "/v1/warnings", bureau.token, {"title": "t", "body": "b", "hazard_listing_ids": ["haz_x"]}, expect=422
    )
    assert no_entry["errors"][0]["field"] == "hazard_listing_ids[0]"
    reader = await bureau.gw.authority("330000", "浙江省市场监督管理局", scopes=("read",))
    await bureau.gw.post("/v1/warnings", reader, {"title": "t", "body": "b", "case_ids": [draft]}, expect=403)
    assert (await bureau.gw.client.get("/public/warnings.json")).json()["total"] == 0


async def test_warning_text_is_escaped_per_clause_6_2(bureau: Bureau, publish_case: Any) -> None:
    """六(二): markup in a warning's title and text is shown as text, never run."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-x")
    body = {"title": "<b onclick=x>警示</b>", "body": "<script>alert(1)</script>", "case_ids": [case_id]}
    warning = await bureau.gw.post("/v1/warnings", bureau.token, body)
    for path in ("/public/warnings", f"/public/warnings/{warning['id']}"):
        text = (await bureau.gw.client.get(path)).text
        assert "<b onclick" not in text
        assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in (await bureau.gw.client.get(f"/public/warnings/{warning['id']}")).text
    bad = await bureau.gw.client.get("/public/warnings.json", params={"per_page": "1000"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "per_page"
