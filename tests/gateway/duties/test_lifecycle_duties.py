"""Whole cases through the API where a duty of the opinion must hold (issue 14, item 14).

A hazardous case whose manufacturer cannot be reached, a partial records answer, a lapsed takedown deadline with
its escalation, and a waived re-inspection.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from spotcheck.gateway.store.models import Deadline, OperationalEvent
from spotcheck.gateway.store.models_duties import ReinspectionWaiver
from spotcheck.gateway.store.statuses import DeadlineKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.schemas import (
    OrderConfirmed,
    OrderConfirmedData,
    RecordsProvided,
    RecordsProvidedData,
    RecordsUnavailable,
    RecordsUnavailableData,
    TransactionRecord,
    chunk_digest,
    set_digest,
)

pytestmark = pytest.mark.postgres


async def test_hazardous_case_with_unreachable_manufacturer_four_two_and_three_two(world: Any) -> None:
    """四(二), 三(二): a hazardous finding orders the merchant at once to warn and stop selling; the manufacturer, with
    no contact, is told by announcement; the 通报 to its authority, which has no channel, is an open task 通报未送达
    (never an announcement) until the authority registers an e-mail channel."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=True)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    [to_maker] = [
        m
        for m in await world.outbound(case_id, "result.notice")
        if world.body_of(m)["data"]["addressee_role"] == "manufacturer"
    ]
    assert (to_maker.recipient_kind, to_maker.adapter) == ("manufacturer", "announcement")

    case = await gw.post(f"/v1/cases/{case_id}/stop-sale", token, {})  # before final: hazardous only
    assert case["state"] == "result_notified"
    [order] = await world.outbound(case_id, "stop_sale.order")
    assert world.body_of(order)["data"]["warning_measures"] == ["警示消费者 (warn consumers)"]
    kinds = {d.kind: d for d in await world.deadlines(case_id) if d.message_id == order.id}
    # 立即: acknowledged within 2 hours and carried out within 24, not two working days.
    assert kinds[DeadlineKind.PLATFORM_ACKNOWLEDGEMENT].due_at - order.created_at < timedelta(hours=2, minutes=1)
    assert kinds[DeadlineKind.PLATFORM_ANSWER].due_at - order.created_at < timedelta(hours=24, minutes=1)

    assert await world.outbound(case_id, "hazard.notification") == []  # no pretend 通报 on our own site
    tasks = [d for d in await gw.get("/v1/deadlines", token) if d["kind"] == "hazard_notification"]
    assert [(t["case_id"], t["rule"], t["urgency"]) for t in tasks] == [(case_id, "通报未送达", "overdue")]
    assert "notify_hazard_authority" in case["allowed_actions"]
    assert case["measures"][-1]["status"] == "通报未送达"

    # The manufacturer's city registers an e-mail channel; the 通报 goes out and the task is met.
    national = await gw.authority("100000", "国家市场监督管理总局")
    foshan = await gw.post("/v1/authorities", national, {"name": "佛山市市场监督管理局", "division_code": "440600"})
    channel = await gw.client.put(
        f"/v1/authorities/{foshan['id']}/channel",
        json={"email": "tongbao@fs.example.gov.cn"},
        headers=gw.auth(national),
    )
    assert channel.status_code == 200, channel.text
    case = await gw.post(f"/v1/cases/{case_id}/hazard-notification", token)
    [sent] = await world.outbound(case_id, "hazard.notification")
    assert (sent.recipient_kind, sent.recipient_id, sent.adapter) == ("authority", foshan["id"], "smtp")
    assert sent.destination == {"to": "tongbao@fs.example.gov.cn"}
    assert "notify_hazard_authority" not in case["allowed_actions"]
    assert not [d for d in await gw.get("/v1/deadlines", token) if d["kind"] == "hazard_notification"]

    # 三(三): the manufacturer's window runs from the announcement's publication, the merchant's from its receipt.
    published = world.ago(days=3)
    await world.delivered(to_maker.id, published)
    await gw.post("/v1/deadlines/sweep", token)
    [window] = [d for d in await world.deadlines(case_id) if d.party == "manufacturer"]
    assert not window.provisional
    assert window.due_at.date() >= (published + timedelta(days=15)).date()


async def test_partial_records_answer_keeps_the_deadline_open_three_one(world: Any) -> None:
    """三(一): a records request for ORD-1 and ORD-2 is met only when both are confirmed or declared, with a
    reason, unavailable, and the records have arrived; a partial answer shows what is missing."""
    gw, token, platform = world.gw, world.token, world.platform
    case_id = await world.case(hazardous=False)
    now = utcnow()
    body = {"order_nos": ["ORD-1", "ORD-2"], "records_from": (now - timedelta(days=30)).isoformat()}
    await gw.post(f"/v1/cases/{case_id}/records-request", token, body | {"records_until": now.isoformat()})
    [request] = await world.outbound(case_id, "records.request")
    base = {"case_id": case_id, "in_reply_to": request.id, "platform_id": platform.id}

    def confirmed(order_no: str) -> OrderConfirmed:
        data = OrderConfirmedData(
            **base,
            order_no=order_no,
            buyer_account="buyer_zj01",
            amount_fen=25900,
            paid_at=now - timedelta(days=2),
            shipped_at=None,
            shop_id="shop-1",
            listing_snapshot_sha256="a" * 64,
        )
        return OrderConfirmed(timestamp=now, data=data)

    stranger = await gw.reply(platform, confirmed("ORD-9"))
    assert stranger.status_code == 422, stranger.text
    assert stranger.json()["errors"][0]["field"] == "$.data.order_no"

    answer = await gw.reply(platform, confirmed("ORD-1"))
    assert answer.status_code < 300, answer.text
    assert answer.json()["detail"]["missing"] == ["order:ORD-2", "records"]
    [open_clock] = [d for d in await gw.get("/v1/deadlines", token) if d["message_id"] == request.id]
    assert open_clock["missing"] == ["order:ORD-2", "records"]

    record = TransactionRecord(
        order_no="ORD-1", shop_id="shop-1", item_title="电热水壶", quantity=1, amount_fen=25900, status="completed",
        created_at=now - timedelta(days=2),
    )  # fmt: skip
    digest = chunk_digest([record], [])
    chunk = RecordsProvidedData(
        **base, upload_id="u-1", chunk_index=0, chunk_count=1, chunk_sha256=digest, set_sha256=set_digest([digest]),
        records=[record],
    )  # fmt: skip
    answer = await gw.reply(platform, RecordsProvided(timestamp=now, data=chunk))
    assert answer.json()["detail"]["missing"] == ["order:ORD-2"]
    assert [d.status for d in await world.deadlines(case_id) if d.message_id == request.id] == ["open"]

    declared = RecordsUnavailableData(**base, orders=["ORD-2"], reason="该订单已超过平台保存期限，无法提供")
    answer = await gw.reply(platform, RecordsUnavailable(timestamp=now, data=declared))
    assert answer.json()["detail"] == {"declared_unavailable": ["ORD-2"], "missing": [], "complete": True}
    assert [d.status for d in await world.deadlines(case_id) if d.message_id == request.id] == ["met"]


async def test_lapsed_takedown_deadline_escalates_and_a_second_lapse_is_a_delay_finding_five_three(
    world: Any,
) -> None:
    """四(二), 五(三): a takedown order unanswered in time reminds the platform through its channel, e-mails its
    compliance contact and the responsible officer; a second lapse is a 拖延 finding in its compliance figures."""
    gw, token, platform = world.gw, world.token, world.platform
    case_id = await world.case(hazardous=False)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    await gw.waive_reinspection(token, case_id)
    await gw.post(f"/v1/cases/{case_id}/finalize", token)
    await world.unreachable_merchant(case_id)
    await gw.post(f"/v1/cases/{case_id}/takedown", token, {"measures": ["delete", "block"]})
    [order] = await world.outbound(case_id, "takedown.order")
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(Deadline)
            .where(Deadline.message_id == order.id)
            .values(created_at=world.ago(hours=30), due_at=world.ago(hours=6))
        )
    assert (await gw.post("/v1/deadlines/sweep", token))["escalated"] == 2  # the acknowledgement and the report

    reminders = await world.outbound(case_id, "deadline.reminder")
    recipients = {(r.recipient_kind, r.adapter, r.destination.get("to")) for r in reminders}
    assert ("platform", "webhook", None) in recipients
    assert ("contact", "smtp", "compliance@duty-mall.example") in recipients
    assert ("contact", "smtp", "officer@zj.example.gov.cn") in recipients
    text = world.body_of(reminders[0])["data"]["text"]
    assert world.BEIJING.search(text) and "北京时间" in text and not world.UTC_SHAPE.search(text)
    overdue = [d for d in await gw.get("/v1/deadlines?status=overdue", token) if d["message_id"] == order.id]
    assert {d["status"] for d in overdue} == {"escalated"}  # still shown to the officer

    assert (await gw.post("/v1/deadlines/sweep", token))["findings"] == 0  # not twice for the same lapse
    async with gw.sessions() as session, session.begin():
        await session.execute(
            update(Deadline).where(Deadline.message_id == order.id).values(escalated_at=world.ago(hours=25))
        )
    assert (await gw.post("/v1/deadlines/sweep", token))["findings"] == 2
    findings = await gw.get(f"/v1/findings?platform_id={platform.id}", token)
    assert {(f["kind"], f["order_type"], f["case_id"]) for f in findings} == {("拖延", "takedown.order", case_id)}
    figures = await gw.get(f"/v1/platforms/{platform.id}/compliance", token)
    assert (figures["delays"], figures["overdue"]) == (2, 2)
    async with gw.sessions() as session:
        kinds = set(await session.scalars(select(OperationalEvent.kind).where(OperationalEvent.case_id == case_id)))
    assert {"overdue.platform_answer", "overdue.platform_acknowledgement", "finding.delay"} <= kinds
    assert len(await world.outbound(case_id, "deadline.reminder")) == 2 * len(reminders)


async def test_waived_reinspection_needs_each_partys_written_statement_three_three(world: Any) -> None:
    """三(三): the result is final when every party's window has lapsed or been waived; a waiver needs the party's
    written statement and records who waived."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=False)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)

    refused = await world.attempt(f"/v1/cases/{case_id}/finalize", {"waived": True})
    assert refused.status_code == 400 and "waived" in refused.text
    bare = await world.attempt(
        f"/v1/cases/{case_id}/reinspection-waivers", {"party_role": "merchant", "waived_by": "经营者"}
    )
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "statement_sha256"
    unknown = await world.attempt(
        f"/v1/cases/{case_id}/reinspection-waivers",
        {"party_role": "merchant", "waived_by": "经营者", "statement_sha256": "c" * 64},
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "statement_sha256"

    case = await gw.waive_reinspection(token, case_id, roles=("merchant",))
    assert "finalize" not in case["allowed_actions"]
    still_open = await world.attempt(f"/v1/cases/{case_id}/finalize")
    assert still_open.status_code == 409
    assert "manufacturer" in still_open.json()["detail"] and "merchant:" not in still_open.json()["detail"]

    case = await gw.waive_reinspection(token, case_id, roles=("manufacturer",))
    assert "finalize" in case["allowed_actions"]
    case = await gw.post(f"/v1/cases/{case_id}/finalize", token)
    assert case["state"] == "final"
    async with gw.sessions() as session:
        waivers = list(await session.scalars(select(ReinspectionWaiver).where(ReinspectionWaiver.case_id == case_id)))
    assert {(w.party_role, w.waived_by, len(w.statement_sha256 or "")) for w in waivers} == {
        ("merchant", "merchant 法定代表人", 64),
        ("manufacturer", "manufacturer 法定代表人", 64),
    }
    assert all(w.recorded_by.startswith("authority:") and "/token:" in w.recorded_by for w in waivers)
