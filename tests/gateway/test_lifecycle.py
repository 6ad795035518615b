"""A failing and a passing case through the whole lifecycle, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from spotcheck.gateway.audit.chain import verify_chain
from spotcheck.gateway.store.models import Case, Deadline, OutboundMessage
from spotcheck.schemas import (
    LogEntry,
    MerchantIdentity,
    MerchantIdentityData,
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    OrderConfirmed,
    OrderConfirmedData,
    RecordsProvided,
    RecordsProvidedData,
    ReinspectionApplied,
    ReinspectionAppliedData,
    TakedownReported,
    TakedownReportedData,
    TransactionRecord,
    chunk_digest,
    decode_notice,
    set_digest,
)

pytestmark = pytest.mark.postgres

SHA = hashlib.sha256(b"evidence").hexdigest()
NOW = datetime.now(UTC)


def evidence(step: str) -> dict[str, Any]:
    return {
        "sha256": SHA,
        "media_type": "video/mp4",
        "size_bytes": 1024,
        "step": step,
        "description": f"{step} 全程录像",
    }


async def open_case(
    gw: Any,
    token: str,
    platform_id: str,
    *,
    kind: str = "registered_entity",
    manufacturer: bool = True,
    shop: str = "shop-1001",
) -> tuple[str, str]:
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {
            "platform_id": platform_id,
            "shop_id": shop,
            "shop_name": "某某电器旗舰店",
            "kind": kind,
            "legal_name": "杭州某某电器有限公司",
            "uscc": "91330100799655058B",
            "registration_division": "330106",
        }
        if kind == "registered_entity"
        else {
            "platform_id": platform_id,
            "shop_id": shop,
            "shop_name": "小王的店",
            "kind": kind,
        },
    )
    body: dict[str, Any] = {
        "merchant_id": merchant["id"],
        "plan_reference": "浙市监抽〔2026〕12号",
        "product": {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705", "listing_id": "L-88"},
    }
    if manufacturer:
        mfr = await gw.post(
            "/v1/manufacturers",
            token,
            {"name": "佛山某某电器制造有限公司", "division_code": "440604", "contact_email": "qa@maker.example"},
        )
        body["manufacturer_id"] = mfr["id"]
    case = await gw.post("/v1/cases", token, body)
    return case["id"], merchant["id"]


async def sample_and_notify(gw: Any, token: str, case_id: str) -> dict[str, Any]:
    captures, video = await gw.sampling_evidence(token, case_id)  # stored first: evidence is evidence (三(一))
    await gw.post(
        f"/v1/cases/{case_id}/purchase",
        token,
        {
            "purchased_at": (NOW - timedelta(days=20)).isoformat(),
            "buyer_account": "buyer_zj01",
            "buyer_name": "张三",
            "delivery_address": "杭州市西湖区某路1号",
            "orders": [
                {"order_no": "T2026001", "ordered_at": (NOW - timedelta(days=20)).isoformat(), "amount_fen": 19900},
                {"order_no": "T2026002", "ordered_at": (NOW - timedelta(days=20)).isoformat(), "amount_fen": 19900},
            ],
            "screenshots": captures,
        },
        expect=201,
    )
    await gw.post(
        f"/v1/cases/{case_id}/sealing",
        token,
        {
            "sealed_at": (NOW - timedelta(days=15)).isoformat(),
            "sample_seal_no": "FY-001",
            "backup_seal_no": "FY-002",
            "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
            "evidence": video,
        },
    )
    return await gw.post(f"/v1/cases/{case_id}/sampling-notice", token)


async def outbound(gw: Any, case_id: str, message_type: str, recipient_kind: str = "platform") -> list[OutboundMessage]:
    async with gw.sessions() as session:
        rows = await session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.case_id == case_id,
                OutboundMessage.message_type == message_type,
                OutboundMessage.recipient_kind == recipient_kind,
            )
            .order_by(OutboundMessage.id)
        )
        return list(rows)


async def test_failing_case_from_creation_to_close(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    other = await gw.register_platform(zj, "jd-test", province="110000")
    case_id, _ = await open_case(gw, zj, platform.id)

    case = await gw.get(f"/v1/cases/{case_id}", zj)
    assert case["state"] == "planned"
    assert case["jurisdiction_division"] == "330000"
    assert "二" in case["jurisdiction_basis"]

    case = await sample_and_notify(gw, zj, case_id)
    assert case["state"] == "sampling_notified"
    [notice] = await outbound(gw, case_id, "sampling.notice")
    decoded = decode_notice(notice.body)
    assert decoded.data.orders[0].order_no == "T2026001"  # type: ignore[union-attr]
    assert "备份样品" in decoded.data.backup_return_duty  # type: ignore[union-attr]

    ack = NoticeAcknowledged(
        timestamp=NOW,
        data=NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=notice.id, platform_id=platform.id, received_at=datetime.now(UTC)
        ),
    )
    response = await gw.reply(platform, ack)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"

    # Records request answered with two signed chunks and an order confirmation.
    case = await gw.post(
        f"/v1/cases/{case_id}/records-request",
        zj,
        {
            "order_nos": ["T2026001"],
            "records_from": (NOW - timedelta(days=30)).isoformat(),
            "records_until": NOW.isoformat(),
        },
    )
    [request] = await outbound(gw, case_id, "records.request")
    records = [
        [
            TransactionRecord(
                order_no=f"T{i}",
                shop_id="shop-1001",
                item_title="电热水壶",
                quantity=1,
                amount_fen=19900,
                status="completed",
                created_at=NOW,
            )
        ]
        for i in range(2)
    ]
    logs = [[LogEntry(at=NOW, actor="system", action="order.pay", subject=f"T{i}")] for i in range(2)]
    digests = [chunk_digest(records[i], logs[i]) for i in range(2)]
    for index in (1, 0):
        chunk = RecordsProvided(
            timestamp=NOW,
            data=RecordsProvidedData(
                case_id=case_id,
                in_reply_to=request.id,
                platform_id=platform.id,
                upload_id="up-1",
                chunk_index=index,
                chunk_count=2,
                chunk_sha256=digests[index],
                set_sha256=set_digest(digests),
                records=records[index],
                logs=logs[index],
            ),
        )
        response = await gw.reply(platform, chunk)
        assert response.status_code == 200, response.text
    # The records are complete; the request is answered once its order is confirmed too (三(一)).
    assert response.json()["detail"]["upload_complete"] is True
    assert response.json()["detail"]["missing"] == ["order:T2026001"]
    confirm = OrderConfirmed(
        timestamp=NOW,
        data=OrderConfirmedData(
            case_id=case_id,
            in_reply_to=request.id,
            platform_id=platform.id,
            order_no="T2026001",
            buyer_account="buyer_zj01",
            amount_fen=19900,
            paid_at=NOW,
            shipped_at=None,
            shop_id="shop-1001",
            listing_snapshot_sha256=SHA,
        ),
    )
    confirmed = await gw.reply(platform, confirm)
    assert confirmed.status_code == 200
    assert confirmed.json()["detail"]["complete"] is True

    # The result fails and is hazardous; notices go to merchant (via platform), manufacturer and platform.
    case = await gw.post(
        f"/v1/cases/{case_id}/result",
        zj,
        {
            "received_at": NOW.isoformat(),
            "conclusion": "fail",
            "report_no": "ZJ-2026-0456",
            "institution": "浙江省质检院",
            "failing_items": [
                {"item": "泄漏电流", "standard": "GB 4706.1-2005", "required": "≤0.75 mA", "measured": "2.1 mA"}
            ],
            "hazardous": True,
            "mandatory_standard_failed": True,
        },
    )
    assert case["state"] == "result_received"
    assert [d["kind"] for d in case["deadlines"]] == ["platform_answer", "result_notice"] or "result_notice" in [
        d["kind"] for d in case["deadlines"]
    ]
    case = await gw.post(f"/v1/cases/{case_id}/result-notices", zj)
    assert case["state"] == "result_notified"
    assert case["reinspection_deadline"] is not None
    roles = sorted(
        decode_notice(m.body).data.addressee_role  # type: ignore[union-attr]
        for m in await outbound(gw, case_id, "result.notice")
    )
    assert roles == ["merchant", "platform"]
    [maker_notice] = await outbound(gw, case_id, "result.notice", "manufacturer")
    assert maker_notice.adapter == "smtp"

    # A re-inspection application relayed by the platform, rejected; then the case is finalized by waiver.
    [merchant_notice] = [
        m
        for m in await outbound(gw, case_id, "result.notice")
        if decode_notice(m.body).data.addressee_role == "merchant"
    ]  # type: ignore[union-attr]
    apply = ReinspectionApplied(
        timestamp=NOW,
        data=ReinspectionAppliedData(
            case_id=case_id,
            in_reply_to=merchant_notice.id,
            platform_id=platform.id,
            applicant_role="merchant",
            applicant_name="杭州某某电器有限公司",
            applied_at=NOW,
            application_sha256=SHA,
            reason="对泄漏电流检测有异议",
        ),
    )
    response = await gw.reply(platform, apply)
    assert response.status_code == 200, response.text
    application_id = response.json()["detail"]["application"]
    finalize_early = await gw.client.post(f"/v1/cases/{case_id}/finalize", json={}, headers=gw.auth(zj))
    assert finalize_early.status_code == 409
    assert "awaits a decision" in finalize_early.json()["detail"]
    await gw.post(
        f"/v1/cases/{case_id}/reinspection-applications/{application_id}/decision",
        zj,
        {"decision": "rejected", "reason": "申请材料不全且未办理复检手续"},
    )
    assert await outbound(gw, case_id, "reinspection.decision")
    # 三(三): the merchant's window closed with its application; the manufacturer waives in writing.
    await gw.waive_reinspection(zj, case_id, roles=("manufacturer",))
    case = await gw.post(f"/v1/cases/{case_id}/finalize", zj)
    assert case["state"] == "final"

    case = await gw.post(f"/v1/cases/{case_id}/publish", zj)
    assert case["state"] == "published"
    [published] = await outbound(gw, case_id, "results.published")
    data = decode_notice(published.body).data
    assert data.main_failing_items == ["泄漏电流"]  # type: ignore[union-attr]
    assert data.platform_name == "tmall-test 网络有限公司"  # type: ignore[union-attr]

    # Measures: stop-sale (and hazard notification to the manufacturer's province, by its registered e-mail),
    # delisting to every platform.
    await gw.authority("440000", "广东省市场监督管理局", email="tongbao@gd.example.gov.cn")
    case = await gw.post(f"/v1/cases/{case_id}/stop-sale", zj, {"warning_measures": ["下架并发布消费警示"]})
    assert case["state"] == "measures"
    assert await outbound(gw, case_id, "hazard.notification", "authority")
    case = await gw.post(f"/v1/cases/{case_id}/delisting", zj, {"mandatory_standard": "GB 4706.1-2005"})
    delistings = await outbound(gw, case_id, "delisting.order")
    assert sorted(m.recipient_id for m in delistings) == sorted([platform.id, other.id])

    # Takedown needs an unreachable merchant; the identity request answered "unable" makes it so (五(一)).
    refused = await gw.client.post(f"/v1/cases/{case_id}/takedown", json={"measures": ["delete"]}, headers=gw.auth(zj))
    assert refused.status_code == 409
    await gw.post(f"/v1/cases/{case_id}/identity-request", zj)
    [identity_request] = await outbound(gw, case_id, "merchant.identity_request")
    unable = MerchantIdentity(
        timestamp=NOW,
        data=MerchantIdentityData(
            case_id=case_id,
            in_reply_to=identity_request.id,
            platform_id=platform.id,
            shop_id="shop-1001",
            unable=True,
            unable_reason="经营者已注销店铺且无法联系",
        ),
    )
    assert (await gw.reply(platform, unable)).status_code == 200
    case = await gw.post(f"/v1/cases/{case_id}/takedown", zj, {"measures": ["delete", "block"], "include_shop": True})
    [takedown] = await outbound(gw, case_id, "takedown.order")
    report = TakedownReported(
        timestamp=NOW,
        data=TakedownReportedData(
            case_id=case_id,
            in_reply_to=takedown.id,
            platform_id=platform.id,
            order_type="takedown.order",
            measures_taken=["delete", "block"],
            listing_ids=["L-88"],
            shop_ids=["shop-1001"],
            effective_at=datetime.now(UTC),
            evidence_sha256=[SHA],
        ),
    )
    response = await gw.reply(platform, report)
    assert response.status_code == 200, response.text
    events = await gw.get("/v1/events", zj)
    assert any(e["kind"] == "platform_liability" for e in events)

    case = await gw.post(f"/v1/cases/{case_id}/close", zj, {"note": "措施已执行"})
    assert case["state"] == "closed"
    assert case["allowed_actions"] == []
    history = [e["action"] for e in await gw.get(f"/v1/cases/{case_id}/events", zj)]
    assert history[:4] == ["create", "record_purchase", "record_sealing", "send_sampling_notice"]
    assert history[-1] == "close"
    async with gw.sessions() as session:
        checked, broken = await verify_chain(session)
    assert broken is None
    assert checked > 20

    # Every clock and notice of the case carries the case's scope: the dashboard counts them by that copy alone.
    async with gw.sessions() as session:
        stored = await session.get(Case, case_id)
        clocks = (await session.scalars(select(Deadline).where(Deadline.case_id == case_id))).all()
        notices = (await session.scalars(select(OutboundMessage).where(OutboundMessage.case_id == case_id))).all()
    assert stored is not None
    assert len(clocks) >= 3
    assert len(notices) >= 5
    scopes = {(row.authority_id, row.jurisdiction_division) for row in [*clocks, *notices]}
    assert scopes == {(stored.authority_id, stored.jurisdiction_division)}


async def test_passing_case_from_creation_to_close(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, _ = await open_case(gw, zj, platform.id, kind="natural_person", manufacturer=False)
    case = await gw.get(f"/v1/cases/{case_id}", zj)
    assert "platform province" in case["jurisdiction_basis"]
    await sample_and_notify(gw, zj, case_id)
    await gw.post(
        f"/v1/cases/{case_id}/result",
        zj,
        {
            "received_at": NOW.isoformat(),
            "conclusion": "pass",
            "report_no": "ZJ-2026-0457",
            "institution": "浙江省质检院",
        },
    )
    case = await gw.post(f"/v1/cases/{case_id}/result-notices", zj)
    assert case["reinspection_deadline"] is None
    result_notice_clock = [d for d in case["deadlines"] if d["kind"] == "result_notice"]
    assert result_notice_clock[0]["status"] == "met"
    case = await gw.post(f"/v1/cases/{case_id}/finalize", zj)
    assert case["state"] == "final"
    stop_sale = await gw.client.post(f"/v1/cases/{case_id}/stop-sale", json={}, headers=gw.auth(zj))
    assert stop_sale.status_code == 409
    case = await gw.post(f"/v1/cases/{case_id}/publish", zj)
    [published] = await outbound(gw, case_id, "results.published")
    assert decode_notice(published.body).data.conclusion == "pass"  # type: ignore[union-attr]
    case = await gw.post(f"/v1/cases/{case_id}/close", zj)
    assert case["state"] == "closed"


async def test_illegal_transition_names_the_allowed_actions(gateway: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-test")
    case_id, _ = await open_case(gw, zj, platform.id)
    response = await gw.client.post(f"/v1/cases/{case_id}/publish", json={}, headers=gw.auth(zj))
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:spotcheck:problem:illegal-transition"
    assert problem["allowed"] == ["record_purchase"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert msgspec.json.decode(response.content)["status"] == 409
