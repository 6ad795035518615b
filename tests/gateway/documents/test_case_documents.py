"""Documents in the case flow: produced when the notice is sent, referenced in it, listed, fetched, served = proven."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from spotcheck.gateway.delivery.service import Recipient
from spotcheck.gateway.documents.queries import platform_fetch_target
from spotcheck.gateway.documents.service import DocumentProducer
from spotcheck.gateway.documents.templates import beijing
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.store.models import Authority, Case, OutboundMessage
from spotcheck.gateway.store.models_documents import Document, DocumentNumberSequence
from spotcheck.gateway.store.models_public import Announcement
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData, StopSaleOrder, decode_notice
from spotcheck.sdk import Webhook, fetch_document_async, generate_keypair, new_message_id

AT = "2026-03-02T10:00:00+08:00"


@dataclass
class PlatformHandle:
    """A platform registered by the test, which keeps its reply key's secret for the SDK."""

    id: str
    reply_signer: Webhook
    notice_secret: str


async def _sampled_case(gw: Any, token: str, platform_id: str, *, unreachable: bool = False) -> str:
    """A case driven through the API until its sampling notice is sent."""
    merchant = {"platform_id": platform_id, "shop_id": "shop-7", "shop_name": "某某电器旗舰店"}
    merchant |= {"kind": "registered_entity", "legal_name": "杭州某某电器有限公司", "registration_division": "330106"}
    merchant_id = (await gw.post("/v1/merchants", token, merchant))["id"]
    if unreachable:
        await gw.post(f"/v1/merchants/{merchant_id}/unreachable", token, expect=201)
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"}
    body = {"merchant_id": merchant_id, "product": product, "plan_reference": "浙市监抽〔2026〕1号"}
    case_id: str = (await gw.post("/v1/cases", token, body))["id"]
    # Purchase and sealing are recorded as their own steps would (their evidence rules are tested there).
    order = {"order_no": "T-7", "ordered_at": AT, "amount_fen": 19900}
    purchase = {"purchased_at": AT, "buyer_account": "buyer", "buyer_name": "张三", "orders": [order], "evidence": []}
    sealing = {"sealed_at": AT, "sample_seal_no": "FY-1", "backup_seal_no": "FY-2", "evidence": []}
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(Case).where(Case.id == case_id).values(state="sealed", purchase=purchase, sealing=sealing)
        )
    await gw.post(f"/v1/cases/{case_id}/sampling-notice", token)
    return case_id


async def test_a_sampling_notice_carries_its_numbered_signed_documents_which_the_case_lists(gateway: Any) -> None:
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    secret, public_key = generate_keypair()
    await gateway.post(
        "/v1/platforms",
        token,
        {
            "id": "tmall-doc",
            "name": "tmall-doc 网络有限公司",
            "province_code": "330000",
            "contact": {"name": "合规部"},
            "endpoint_url": "http://127.0.0.1:9/tmall-doc/spotcheck",
            "inbound_keys": [public_key],
        },
    )
    platform = PlatformHandle(id="tmall-doc", reply_signer=Webhook(secret), notice_secret="")
    case_id = await _sampled_case(gateway, token, platform.id)

    listed = await gateway.get(f"/v1/cases/{case_id}/documents", token)
    assert [(d["kind"], d["title"]) for d in listed] == [
        ("sampling_notice", "网络商品质量抽检通知书"),
        ("sampling_record", "买样及封样记录"),
    ]
    year = datetime.now(UTC).astimezone().year
    first = listed[0]
    assert first["number"].endswith(f"网抽通〔{year}〕1号") or first["number"].endswith(f"网抽通〔{year + 1}〕1号")
    assert first["addressee"] == "杭州某某电器有限公司"
    assert first["basis"] == "工商消字〔2015〕189号 三(一)"
    assert "浙江省市场监督管理局" in first["signer"]
    assert first["served"] is False and first["services"][0]["method"] == "电子送达（平台接口）"

    async with gateway.sessions() as session:
        rows = (await session.scalars(select(OutboundMessage).where(OutboundMessage.case_id == case_id))).all()
    notice = decode_notice(rows[0].body)
    refs = notice.data.documents
    assert [(r.kind, r.number, r.sha256) for r in refs] == [(d["kind"], d["number"], d["sha256"]) for d in listed]
    assert refs[0].url == f"https://spotcheck.example.gov.cn/v1/platforms/{platform.id}/documents/{first['id']}"

    # The regulator downloads it, verified; the bytes are the digest the notice carried.
    pdf = await gateway.client.get(first["download_url"], headers=gateway.auth(token))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == first["sha256"]

    # The platform fetches it with a request signed by its reply key; a bad signature gets 401.
    path = f"/v1/platforms/{platform.id}/documents/{first['id']}"
    signed = platform.reply_signer.headers(new_message_id(), platform_fetch_target(platform.id, first["id"]))
    fetched = await gateway.client.get(path, headers=signed)
    assert fetched.status_code == 200 and fetched.content == pdf.content
    wrong = platform.reply_signer.headers(new_message_id(), platform_fetch_target(platform.id, "doc_other"))
    refused = await gateway.client.get(path, headers=wrong)
    assert (refused.status_code, refused.json()["type"]) == (401, "urn:spotcheck:problem:bad-signature")
    # The SDK fetches it the same way and checks the bytes against the notice's digest.
    assert await fetch_document_async(refs[0], signing_key=secret, http_client=gateway.client) == pdf.content
    # Not published by announcement, so not public.
    assert (await gateway.client.get(f"/public/documents/{first['id']}")).status_code == 404

    # Served = proven: the notice's delivery and the platform's acknowledgement (the 送达回证).
    delivered = datetime.now(UTC) - timedelta(minutes=5)
    received = delivered + timedelta(minutes=3)
    async with gateway.sessions() as session, session.begin():
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == rows[0].id)
            .values(status="delivered", delivered_at=delivered)
        )
    ack = NoticeAcknowledged(
        timestamp=datetime.now(UTC),
        data=NoticeAcknowledgedData(
            case_id=case_id,
            in_reply_to=rows[0].id,
            platform_id=platform.id,
            received_at=received,
        ),
    )
    assert (await gateway.reply(platform, ack)).status_code == 200
    served = (await gateway.get(f"/v1/cases/{case_id}/documents", token))[0]
    assert served["served"] is True
    assert served["served_at_beijing"] == beijing(delivered)
    assert served["services"][0]["on"] == "tmall-doc 网络有限公司"
    assert served["services"][0]["acknowledged_at_beijing"] == beijing(received)

    # Another jurisdiction sees neither the list nor the file.
    other = await gateway.authority("440000", "广东省市场监督管理局")
    await gateway.get(f"/v1/cases/{case_id}/documents", other, expect=403)
    await gateway.get(first["download_url"], other, expect=403)


async def test_a_notice_served_by_announcement_carries_a_public_notice_anyone_may_read(gateway: Any) -> None:
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    platform = await gateway.register_platform(token, "tmall-ann")
    case_id = await _sampled_case(gateway, token, platform.id, unreachable=True)
    listed = await gateway.get(f"/v1/cases/{case_id}/documents", token)
    assert [d["kind"] for d in listed] == ["sampling_notice", "sampling_record", "public_notice"]
    # The platform's copy and the announcement serve the same notice documents; only the 公告 is new.
    methods = {s["method"] for s in listed[0]["services"]}
    assert methods == {"电子送达（平台接口）", "公告送达"}
    announced = listed[2]
    public = await gateway.client.get(f"/public/documents/{announced['id']}")
    assert public.status_code == 200
    assert hashlib.sha256(public.content).hexdigest() == announced["sha256"]
    async with gateway.sessions() as session:
        body = await session.scalar(
            select(OutboundMessage.body).where(
                OutboundMessage.case_id == case_id, OutboundMessage.adapter == "announcement"
            )
        )
    assert body is not None
    refs = decode_notice(body).data.documents
    assert refs[-1].url == f"https://spotcheck.example.gov.cn/public/documents/{announced['id']}"

    # The worker publishes the announcement, whose page links the documents; the 公告 is then served by it.
    runtime = Runtime(gateway.settings)  # the app's runtime lives on the test client's own event loop
    await runtime.start()
    try:
        worker = delivery_worker(runtime, worker_id="test")
        await worker.run_once()
        await worker.aclose()
    finally:
        await runtime.stop()
    async with gateway.sessions() as session:
        announcement_id = await session.scalar(select(Announcement.id).where(Announcement.case_id == case_id))
    page = await gateway.client.get(f"/public/announcements/{announcement_id}")
    assert page.status_code == 200
    for ref in refs:
        assert f'href="{ref.url}"' in page.text and ref.number in page.text
    after = await gateway.get(f"/v1/cases/{case_id}/documents", token)
    assert after[2]["served"] is True
    assert [s["method"] for s in after[2]["services"] if s["delivered_at"]] == ["公告送达"]


async def test_a_field_the_template_needs_is_named_and_no_number_is_taken(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        authority = Authority(
            id=new_id("auth"), name="浙江省市场监督管理局", level="provincial", division_code="330000"
        )
        session.add(authority)
    case = Case(id="case_missing", authority_id=authority.id)
    order = msgspec.json.decode(
        msgspec.json.encode(
            {
                "type": "stop_sale.order",
                "timestamp": "2026-03-02T10:00:00+08:00",
                "data": {
                    "case_id": "case_missing",
                    "authority": {"code": "330000", "name": "浙江省市场监督管理局", "level": "provincial"},
                    "issued_at": "2026-03-02T10:00:00+08:00",
                    "respond_by": "2026-03-05T23:59:00+08:00",
                    "merchant": {"shop_id": "s1", "shop_name": "某店", "kind": "natural_person"},
                    "product": {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"},
                    "hazardous": False,
                    "consumer_returns_duty": "消费者要求退货的，经营者应当负责退货。",
                },
            }
        ),
        type=StopSaleOrder,
    )
    recipient = Recipient("merchant", "m1", "某店", "smtp", {"to": "shop@example.cn"})
    async with runtime.sessions() as session:
        producer = DocumentProducer(session, runtime)
        with pytest.raises(ProblemError) as refused:
            await producer.attach(case, order, recipient)
        await session.rollback()
    assert (refused.value.status_code, refused.value.code) == (422, "document-field-missing")
    assert refused.value.detail.startswith("report_no: 责令停止销售通知书需要")
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DocumentNumberSequence)) == 0
        assert await session.scalar(select(func.count()).select_from(Document)) == 0


async def test_a_document_that_fails_to_render_takes_no_number(
    runtime: Runtime, samples: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with runtime.sessions() as session, session.begin():
        authority = Authority(
            id=new_id("auth"), name="浙江省市场监督管理局", level="provincial", division_code="330000"
        )
        session.add(authority)
    case = Case(id="case_test_0001", authority_id=authority.id)
    notice = samples.notices()["result_notice"]
    recipient = Recipient("merchant", "m1", "杭州某某电器有限公司", "smtp", {"to": "shop@example.cn"})

    def broken(*_: object) -> None:
        raise RuntimeError("pango is missing")

    monkeypatch.setattr("spotcheck.gateway.documents.service.produce_pdf", broken)
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as failed:
            await DocumentProducer(session, runtime).attach(case, notice, recipient)
        await session.rollback()  # as a refused request's session is
    assert (failed.value.status_code, failed.value.code) == (500, "document-not-produced")
    monkeypatch.undo()
    async with runtime.sessions() as session:
        # The number the failed render held is given to the next document.
        _, documents = await DocumentProducer(session, runtime).attach(case, notice, recipient)
        await session.rollback()
    assert [(d.number_seq, d.number) for d in documents] == [(1, "浙江省市场监督管理局检结〔2026〕1号")]
