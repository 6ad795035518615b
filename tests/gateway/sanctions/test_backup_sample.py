"""The backup sample's return (三(一)): shipped when, accepted or refused; a refusal breaches the notice's duty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.store.models import AuditRecord, OperationalEvent, OutboundMessage

from .conftest import Bureau

pytestmark = pytest.mark.postgres


def _ago(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def test_shipped_and_accepted_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): the return is recorded with its shipping time and waybill, then the merchant's acceptance."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-b1")
    receipt = await bureau.gw.upload_image(bureau.token, case_id, b"waybill", "other", "退货快递单")
    shipped = {
        "shipped_at": _ago(48),
        "carrier": "顺丰速运",
        "waybill_no": "SF1234567890",
        "evidence": [receipt["sha256"]],
    }
    await bureau.gw.post(f"/v1/cases/{case_id}/backup-sample/shipped", bureau.token, shipped)
    await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/outcome", bureau.token, {"outcome": "accepted", "at": _ago(2)}
    )
    record = await bureau.gw.get(f"/v1/cases/{case_id}/backup-sample", bureau.token)
    assert (record["waybill_no"], record["outcome"], record["breach"]) == ("SF1234567890", "accepted", None)
    assert record["evidence"] == [receipt["sha256"]]
    again = await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/outcome", bureau.token, {"outcome": "refused", "at": _ago(1)}, expect=409
    )
    assert "已登记" in again["detail"]


async def test_refusal_is_a_breach_of_the_notice_duty_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): a refusal is recorded as a breach of the duty to accept the return, naming the sampling notice."""
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-b2")
    await bureau.gw.post(f"/v1/cases/{case_id}/backup-sample/shipped", bureau.token, {"shipped_at": _ago(72)})
    note = "经营者拒收退回的备份样品"
    await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/outcome", bureau.token, {"outcome": "refused", "at": _ago(24), "note": note}
    )
    record = await bureau.gw.get(f"/v1/cases/{case_id}/backup-sample", bureau.token)
    async with bureau.gw.sessions() as session:
        notice = await session.scalar(
            select(OutboundMessage.id).where(
                OutboundMessage.case_id == case_id, OutboundMessage.message_type == "sampling.notice"
            )
        )
        event = await session.scalar(
            select(OperationalEvent).where(
                OperationalEvent.case_id == case_id, OperationalEvent.kind == "merchant.duty_breached"
            )
        )
        audit = await session.scalar(
            select(AuditRecord).where(
                AuditRecord.subject == case_id, AuditRecord.action == "case.record_backup_outcome"
            )
        )
    assert record["outcome"] == "refused"
    assert record["breach"]["duty"] == "接受备份样品退货的义务"
    assert record["breach"]["stated_in"] == notice
    assert record["breach"]["basis"].endswith("三(一)")
    assert event is not None
    assert event.detail["stated_in"] == notice
    assert audit is not None
    assert audit.detail["breach"]["duty"] == "接受备份样品退货的义务"
    history = await bureau.gw.get(f"/v1/cases/{case_id}/events", bureau.token)
    assert [h["action"] for h in history][-2:] == ["record_backup_shipped", "record_backup_outcome"]


async def test_return_refusals_per_clause_3_1(bureau: Bureau, publish_case: Any) -> None:
    """三(一): no return before the result is final; no outcome before shipping; times and evidence are checked."""
    draft = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-b3", publish=False)
    early = await bureau.gw.post(
        f"/v1/cases/{draft}/backup-sample/shipped", bureau.token, {"shipped_at": _ago(1)}, expect=409
    )
    assert early["type"].endswith("backup-not-returnable")
    case_id = await publish_case(bureau.gw, bureau.token, bureau.platform_id, shop="shop-b4")
    unshipped = await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/outcome", bureau.token, {"outcome": "accepted", "at": _ago(1)}, expect=409
    )
    assert unshipped["type"].endswith("backup-not-shipped")
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    late = await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/shipped", bureau.token, {"shipped_at": future}, expect=422
    )
    assert late["errors"][0]["field"] == "shipped_at"
    ghost = await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/shipped",
        bureau.token,
        {"shipped_at": _ago(5), "evidence": ["ab" * 32]},
        expect=422,
    )
    assert ghost["errors"][0]["field"] == "evidence[0]"
    await bureau.gw.post(f"/v1/cases/{case_id}/backup-sample/shipped", bureau.token, {"shipped_at": _ago(5)})
    before = await bureau.gw.post(
        f"/v1/cases/{case_id}/backup-sample/outcome", bureau.token, {"outcome": "accepted", "at": _ago(6)}, expect=422
    )
    assert before["errors"][0]["field"] == "at"
    await bureau.gw.get(f"/v1/cases/{draft}/backup-sample", bureau.token, expect=404)
