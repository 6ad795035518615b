"""The lifecycle's other branches: accepted re-inspection, an independent website, a transfer, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from spotcheck.gateway.store.models import Deadline, OutboundMessage
from spotcheck.schemas import decode_notice

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
SHA = "c" * 64
FAIL = {"item": "甲醛含量", "standard": "GB 18401-2010", "required": "≤75 mg/kg", "measured": "160 mg/kg"}


async def _to_result_notified(gw: Any, token: str, merchant: dict[str, Any]) -> str:
    mid = (await gw.post("/v1/merchants", token, merchant))["id"]
    maker = await gw.post(
        "/v1/manufacturers",
        token,
        {"name": "某某服饰有限公司", "division_code": "350200", "contact_email": "qa@maker.example"},
    )
    case = await gw.post(
        "/v1/cases",
        token,
        {
            "merchant_id": mid,
            "manufacturer_id": maker["id"],
            "plan_reference": "计划",
            "product": {"sample_name": "儿童T恤", "trademark": "童趣", "spec_model": "110/56"},
        },
    )
    cid = case["id"]
    captures, video = await gw.sampling_evidence(token, cid)  # stored first: evidence is evidence (三(一))
    await gw.post(
        f"/v1/cases/{cid}/purchase",
        token,
        {
            "purchased_at": NOW.isoformat(),
            "buyer_account": "b",
            "buyer_name": "张三",
            "delivery_address": "福州",
            "orders": [{"order_no": "W-1", "ordered_at": NOW.isoformat(), "amount_fen": 5900}],
            "screenshots": captures,
        },
    )
    await gw.post(
        f"/v1/cases/{cid}/sealing",
        token,
        {
            "sealed_at": NOW.isoformat(),
            "sample_seal_no": "S1",
            "backup_seal_no": "S2",
            "witnesses": ["甲", "乙", "丙"],
            "evidence": video,
        },
    )
    await gw.post(f"/v1/cases/{cid}/sampling-notice", token)
    await gw.post(
        f"/v1/cases/{cid}/result",
        token,
        {
            "received_at": NOW.isoformat(),
            "conclusion": "fail",
            "report_no": "FJ-2026-01",
            "institution": "福建省纤检院",
            "failing_items": [FAIL],
        },
    )
    await gw.post(f"/v1/cases/{cid}/result-notices", token)
    return str(cid)


async def _sent(gw: Any, case_id: str) -> list[OutboundMessage]:
    async with gw.sessions() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.case_id == case_id).order_by(OutboundMessage.id)
        )
        return list(rows)


async def test_accepted_reinspection_overturns_the_result(gateway: Any) -> None:
    gw = gateway
    fj = await gw.authority("350000", "福建省市场监督管理局")
    platform = await gw.register_platform(fj, "fj-mall", province="350000")
    cid = await _to_result_notified(
        gw, fj, {"platform_id": platform.id, "shop_id": "t-1", "shop_name": "童装店", "kind": "natural_person"}
    )
    application = await gw.client.post(
        f"/v1/cases/{cid}/reinspection-applications",
        json={
            "applicant_role": "manufacturer",
            "applicant_name": "某某服饰有限公司",
            "applied_at": NOW.isoformat(),
            "document_sha256": SHA,
            "reason": "送检样品非本厂生产批次",
        },
        headers=gw.auth(fj),
    )
    assert application.status_code == 201, application.text
    async with gw.sessions() as session:
        from spotcheck.gateway.store.models import ReinspectionApplication

        app_id = await session.scalar(select(ReinspectionApplication.id))
    case = await gw.post(
        f"/v1/cases/{cid}/reinspection-applications/{app_id}/decision",
        fj,
        {"decision": "accepted", "reason": "期限内书面申请，手续齐全"},
    )
    assert case["state"] == "reinspection"
    twice = await gw.client.post(
        f"/v1/cases/{cid}/reinspection-applications/{app_id}/decision",
        json={"decision": "rejected", "reason": "x"},
        headers=gw.auth(fj),
    )
    assert twice.status_code == 409
    case = await gw.post(
        f"/v1/cases/{cid}/reinspection-outcome",
        fj,
        {"outcome": "overturned", "report_no": "FJ-2026-01-R", "conclusion": "pass"},
    )
    assert case["state"] == "final"
    assert case["conclusion"] == "pass"
    decisions = [
        decode_notice(m.body).data.decision
        for m in await _sent(gw, cid)  # type: ignore[union-attr]
        if m.message_type == "reinspection.decision"
    ]
    assert decisions == ["accepted", "overturned"]
    refused = await gw.client.post(f"/v1/cases/{cid}/stop-sale", json={}, headers=gw.auth(fj))
    assert refused.status_code == 409  # the product passed on re-inspection


async def test_applications_after_the_window_are_refused(gateway: Any) -> None:
    gw = gateway
    fj = await gw.authority("350000", "福建省市场监督管理局")
    platform = await gw.register_platform(fj, "fj-mall", province="350000")
    cid = await _to_result_notified(
        gw, fj, {"platform_id": platform.id, "shop_id": "t-1", "shop_name": "童装店", "kind": "natural_person"}
    )
    early = await gw.client.post(f"/v1/cases/{cid}/finalize", json={}, headers=gw.auth(fj))
    assert early.status_code == 409
    assert "window" in early.json()["detail"]
    async with gw.sessions() as session, session.begin():
        # 三(三): the merchant received the notice long ago (its window is counted from its receipt).
        await session.execute(
            update(Deadline)
            .where(Deadline.case_id == cid, Deadline.party == "merchant")
            .values(due_at=NOW - timedelta(hours=1), provisional=False)
        )
    late = await gw.client.post(
        f"/v1/cases/{cid}/reinspection-applications",
        json={
            "applicant_role": "merchant",
            "applicant_name": "店主",
            "applied_at": NOW.isoformat(),
            "document_sha256": SHA,
            "reason": "有异议",
        },
        headers=gw.auth(fj),
    )
    assert late.status_code == 409
    assert late.json()["errors"][0]["field"] == "applied_at"


async def test_an_independent_website_is_announced_and_referred_to_the_telecom_authority(gateway: Any) -> None:
    gw = gateway
    fj = await gw.authority("350000", "福建省市场监督管理局")
    cid = await _to_result_notified(
        gw,
        fj,
        {
            "shop_id": "site-1",
            "shop_name": "某某童装商城",
            "kind": "registered_entity",
            "registration_division": "350102",
            "website": "https://kids-shop.example",
        },
    )
    sent = await _sent(gw, cid)
    merchant_notices = [m for m in sent if m.recipient_kind == "merchant"]
    # No platform and no e-mail: the merchant is told by announcement on the official website (三(二)).
    assert {m.adapter for m in merchant_notices} == {"announcement"}
    assert {m.message_type for m in merchant_notices} == {"sampling.notice", "result.notice"}
    await gw.waive_reinspection(fj, cid)
    await gw.post(f"/v1/cases/{cid}/finalize", fj)
    takedown = await gw.client.post(f"/v1/cases/{cid}/takedown", json={"measures": ["block"]}, headers=gw.auth(fj))
    assert takedown.status_code == 409  # a takedown goes to a platform; this case has none
    case = await gw.post(
        f"/v1/cases/{cid}/referral",
        fj,
        {"telecom_authority": "福建省通信管理局", "telecom_email": "wlaq@fjca.example", "measure": "block"},
    )
    assert case["state"] == "measures"
    [referral] = [m for m in await _sent(gw, cid) if m.message_type == "referral.notice"]
    assert referral.adapter == "smtp"
    assert referral.destination == {"to": "wlaq@fjca.example"}
    data = decode_notice(referral.body).data
    assert data.website_url == "https://kids-shop.example"  # type: ignore[union-attr]


async def test_a_platform_operators_violation_is_transferred_to_its_province(gateway: Any) -> None:
    gw = gateway
    fj = await gw.authority("350000", "福建省市场监督管理局")
    await gw.authority("330000", "浙江省市场监督管理局", email="wsc@zjamr.example")
    platform = await gw.register_platform(fj, "zj-mall", province="330000")  # platform located in Zhejiang
    cid = await _to_result_notified(
        gw,
        fj,
        {
            "platform_id": platform.id,
            "shop_id": "t-9",
            "shop_name": "店",
            "kind": "registered_entity",
            "registration_division": "350102",
        },
    )
    case = await gw.post(f"/v1/cases/{cid}/transfer", fj, {"violation": "平台拒绝提供交易记录，违反五(三)"})
    assert case["state"] == "result_notified"  # a transfer records and notifies; the case goes on
    [transfer] = [m for m in await _sent(gw, cid) if m.message_type == "case.transfer"]
    assert transfer.recipient_kind == "authority"
    assert transfer.destination == {"to": "wsc@zjamr.example"}
    history = [e["action"] for e in await gw.get(f"/v1/cases/{cid}/events", fj)]
    assert "transfer_violation" in history
