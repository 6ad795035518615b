"""文书 on the case page: each document's 文号, digest and service, and its PDF downloaded as the API serves it.

The case is driven through the JSON API to its sampling notice (purchase and sealing written as their steps would
leave them, as tests/gateway/documents does), which carries two documents; the console must list and serve exactly
what ``GET /v1/cases/{id}/documents`` and ``GET /v1/documents/{id}`` do.
"""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import update

from spotcheck.gateway.console.render import bj
from spotcheck.gateway.store.models import Case, OutboundMessage
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData

AT = "2026-03-02T10:00:00+08:00"
SHOP = "某某电器旗舰店"
LEGAL_NAME = '杭州<script>alert("文书")</script>电器有限公司'


async def sampled_case(console: Any, officer: Any, *, legal_name: str = "杭州某某电器有限公司") -> tuple[str, Any]:
    """A case of the officer's authority whose sampling notice was sent (with its documents); (case id, platform)."""
    gw = console.gateway
    platform = await gw.register_platform(officer.token, "zj-docs")
    merchant = {"platform_id": platform.id, "shop_id": "shop-7", "shop_name": SHOP, "kind": "registered_entity"}
    merchant |= {"legal_name": legal_name, "registration_division": "330106"}
    merchant_id = (await gw.post("/v1/merchants", officer.token, merchant))["id"]
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"}
    body = {"merchant_id": merchant_id, "product": product, "plan_reference": "浙市监抽〔2026〕1号"}
    case_id: str = (await gw.post("/v1/cases", officer.token, body))["id"]
    order = {"order_no": "T-7", "ordered_at": AT, "amount_fen": 19900}
    purchase = {"purchased_at": AT, "buyer_account": "buyer", "buyer_name": "张三", "orders": [order], "evidence": []}
    sealing = {"sealed_at": AT, "sample_seal_no": "FY-1", "backup_seal_no": "FY-2", "evidence": []}
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(Case).where(Case.id == case_id).values(state="sealed", purchase=purchase, sealing=sealing)
        )
    await gw.post(f"/v1/cases/{case_id}/sampling-notice", officer.token)
    return case_id, platform


async def serve(console: Any, case_id: str, platform: Any, message_id: str) -> tuple[datetime, datetime]:
    """Deliver the notice ``message_id`` and have the platform acknowledge it; (delivered, received)."""
    gw = console.gateway
    delivered = datetime.now(UTC) - timedelta(minutes=5)
    received = delivered + timedelta(minutes=3)
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id)
            .values(status="delivered", delivered_at=delivered)
        )
    ack = NoticeAcknowledged(
        timestamp=datetime.now(UTC),
        data=NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=message_id, platform_id=platform.id, received_at=received
        ),
    )
    answer = await gw.reply(platform, ack)
    assert answer.status_code == 200, answer.text
    return delivered, received


async def test_the_case_page_lists_each_document_with_its_number_digest_and_service(console: Any) -> None:
    officer = await console.login("330000")
    case_id, platform = await sampled_case(console, officer)
    listed = await console.gateway.get(f"/v1/cases/{case_id}/documents", officer.token)
    assert [d["kind"] for d in listed] == ["sampling_notice", "sampling_record"]

    before = await officer.get(f"/console/cases/{case_id}")
    assert before.status_code == 200
    text = before.text
    assert '<h2 id="documents">文书</h2>' in text
    for doc in listed:
        assert doc["title"] in text and doc["number"] in text and doc["sha256"] in text
        assert f'href="/console/documents/{doc["id"]}"' in text
        assert bj(datetime.fromisoformat(doc["issued_at"])) in text
    assert "网络商品质量抽检通知书" in text and "买样及封样记录" in text
    assert "尚未送达" in text  # not delivered yet
    assert "电子送达（平台接口）" in text and platform.id in text

    message_id = listed[0]["services"][0]["message_id"]
    delivered, received = await serve(console, case_id, platform, message_id)
    after = (await officer.get(f"/console/cases/{case_id}")).text
    served = await console.gateway.get(f"/v1/cases/{case_id}/documents", officer.token)
    assert served[0]["served_at_beijing"] == bj(delivered)
    on = served[0]["services"][0]["on"]
    assert f"{bj(delivered)} 已送达" in after  # when, in Beijing time
    assert f"平台 {on} · 电子送达（平台接口） · {bj(received)} 签收" in after  # on whom, how, acknowledged
    assert "尚未送达" not in after


async def test_the_download_is_the_pdf_whose_digest_the_page_shows_named_after_its_number(console: Any) -> None:
    officer = await console.login("330000")
    case_id, _ = await sampled_case(console, officer)
    listed = await console.gateway.get(f"/v1/cases/{case_id}/documents", officer.token)
    page = (await officer.get(f"/console/cases/{case_id}")).text
    for doc in listed:
        assert doc["sha256"] in page
        response = await officer.get(f"/console/documents/{doc['id']}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert hashlib.sha256(response.content).hexdigest() == doc["sha256"]
        api = await console.gateway.client.get(doc["download_url"], headers=console.gateway.auth(officer.token))
        assert api.content == response.content
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment; ")
        assert f"filename*=UTF-8''{quote(doc['number'] + '.pdf', safe='')}" in disposition
        assert f'filename="{doc["id"]}.pdf"' in disposition
        assert disposition.isascii()
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_another_provinces_officer_is_refused_as_the_api_refuses(console: Any) -> None:
    zj = await console.login("330000")
    case_id, _ = await sampled_case(console, zj)
    document = (await console.gateway.get(f"/v1/cases/{case_id}/documents", zj.token))[0]
    gd = await console.login("440000")
    await console.gateway.get(document["download_url"], gd.token, expect=403)
    refused = await gd.get(f"/console/documents/{document['id']}")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert b"%PDF" not in refused.content and document["number"] not in refused.text
    page = await gd.get(f"/console/cases/{case_id}")
    assert page.status_code == 403 and document["number"] not in page.text


async def test_a_made_up_document_gets_the_404_page(console: Any) -> None:
    officer = await console.login("330000")
    for made_up in ("doc_NOPE", "x" * 300, "%E6%96%87%E4%B9%A6", "..%2F..%2Fetc%2Fpasswd"):
        response = await officer.get(f"/console/documents/{made_up}")
        assert response.status_code == 404, made_up
        assert response.headers["content-type"].startswith("text/html")
        assert "页面不存在" in response.text


async def test_a_case_without_documents_says_so(console: Any) -> None:
    officer = await console.login("330000")
    gw = console.gateway
    platform = await gw.register_platform(officer.token, "zj-none")
    merchant = {"platform_id": platform.id, "shop_id": "s-1", "shop_name": SHOP, "kind": "registered_entity"}
    merchant |= {"legal_name": "杭州某某电器有限公司", "registration_division": "330106"}
    merchant_id = (await gw.post("/v1/merchants", officer.token, merchant))["id"]
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"}
    body = {"merchant_id": merchant_id, "product": product, "plan_reference": "浙市监抽〔2026〕1号"}
    case_id = (await gw.post("/v1/cases", officer.token, body))["id"]
    text = (await officer.get(f"/console/cases/{case_id}")).text
    assert '<h2 id="documents">文书</h2>' in text and "尚未制作文书。" in text


async def test_names_in_the_documents_section_are_escaped(console: Any) -> None:
    officer = await console.login("330000")
    case_id, _ = await sampled_case(console, officer, legal_name=LEGAL_NAME)
    listed = await console.gateway.get(f"/v1/cases/{case_id}/documents", officer.token)
    assert listed[0]["addressee"] == LEGAL_NAME  # the document is addressed to the merchant's legal name
    text = (await officer.get(f"/console/cases/{case_id}")).text
    assert "<script>alert(" not in text
    assert html.escape(LEGAL_NAME) in text.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")
