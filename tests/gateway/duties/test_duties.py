"""One duty of the opinion per test, each naming its clause (issue 14, items 1–3, 6–8, 12, 13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from spotcheck.adapters import OutgoingMessage
from spotcheck.adapters._notice_text import email_text
from spotcheck.gateway.deadlines.service import sweep_deadlines
from spotcheck.gateway.delivery.routing import open_adapter_config
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.store.models import Case, OutboundMessage
from spotcheck.gateway.store.statuses import DeadlineKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.schemas import (
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    ReinspectionApplied,
    ReinspectionAppliedData,
    TakedownReported,
    TakedownReportedData,
)

pytestmark = pytest.mark.postgres


def _ack(world: Any, case_id: str, notice_id: str, received_at: Any) -> NoticeAcknowledged:
    data = NoticeAcknowledgedData(
        case_id=case_id, in_reply_to=notice_id, platform_id=world.platform.id, received_at=received_at
    )
    return NoticeAcknowledged(timestamp=utcnow(), data=data)


async def test_each_partys_window_runs_from_its_own_receipt_three_three(world: Any) -> None:
    """三(三): the merchant's window runs from the platform's acknowledgement, the manufacturer's from its e-mail's
    arrival; until a receipt is known the window is provisional and cannot lapse; final when both lapsed."""
    gw, token = world.gw, world.token
    maker = {"name": "宁波某某电器厂", "division_code": "330282", "contact_email": "qa@maker.example"}
    case_id = await world.case(hazardous=False, manufacturer=maker)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    windows = {d.party: d for d in await world.deadlines(case_id) if d.kind == DeadlineKind.REINSPECTION_APPLICATION}
    assert set(windows) == {"merchant", "manufacturer"} and all(w.provisional for w in windows.values())

    notices = {
        world.body_of(m)["data"]["addressee_role"] + ":" + m.adapter: m
        for m in await world.outbound(case_id, "result.notice")
    }
    received = world.ago(days=20)
    answer = await gw.reply(world.platform, _ack(world, case_id, notices["merchant:webhook"].id, world.ago(minutes=1)))
    assert answer.status_code < 300, answer.text
    await world.delivered(notices["manufacturer:smtp"].id, received)

    runtime = gw.client.app.state.runtime
    async with gw.sessions() as session, session.begin():
        await sweep_deadlines(session, runtime.calendar)
    windows = {d.party: d for d in await world.deadlines(case_id) if d.kind == DeadlineKind.REINSPECTION_APPLICATION}
    assert not windows["merchant"].provisional and not windows["manufacturer"].provisional
    assert windows["manufacturer"].status == "lapsed"  # 15 days after its receipt, 20 days ago
    assert windows["merchant"].status == "open"  # acknowledged a minute ago: still open
    assert windows["merchant"].due_at - windows["manufacturer"].due_at >= timedelta(days=19)
    async with gw.sessions() as session, session.begin():
        await sweep_deadlines(session, runtime.calendar, now=windows["merchant"].due_at + timedelta(minutes=1))
    async with gw.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.state == "final"


async def test_an_application_relayed_by_the_platform_and_one_recorded_directly_share_one_rule_three_three(
    world: Any,
) -> None:
    """三(三): once the merchant's window (from its receipt) has ended, an application relayed by the platform and
    one recorded directly are refused by the same rule, naming the field and the window's end in Beijing time;
    the manufacturer, whose receipt is not known yet, may still apply."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=False)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    [to_merchant] = [
        m
        for m in await world.outbound(case_id, "result.notice")
        if m.recipient_kind == "platform" and world.body_of(m)["data"]["addressee_role"] == "merchant"
    ]
    await world.delivered(to_merchant.id, world.ago(days=20))  # reached the merchant's shop system 20 days ago

    def applied(role: str) -> ReinspectionApplied:
        data = ReinspectionAppliedData(
            case_id=case_id,
            in_reply_to=to_merchant.id,
            platform_id=world.platform.id,
            applicant_role=role,  # type: ignore[arg-type]
            applicant_name="申请人",
            applied_at=utcnow(),
            application_sha256="b" * 64,
            reason="对检验结果有异议",
        )
        return ReinspectionApplied(timestamp=utcnow(), data=data)

    relayed = await gw.reply(world.platform, applied("merchant"))
    assert relayed.status_code == 409 and relayed.json()["errors"][0]["field"] == "$.data.applied_at"
    body = {"applicant_role": "merchant", "applicant_name": "经营者", "applied_at": utcnow().isoformat()}
    direct = await world.attempt(
        f"/v1/cases/{case_id}/reinspection-applications", body | {"document_sha256": "b" * 64, "reason": "异议"}
    )
    assert direct.status_code == 409 and direct.json()["errors"][0]["field"] == "applied_at"
    for detail in (relayed.json()["detail"], direct.json()["detail"]):
        assert world.BEIJING.search(detail) and "北京时间" in detail and not world.UTC_SHAPE.search(detail)
    accepted = await gw.reply(world.platform, applied("manufacturer"))
    assert accepted.status_code < 300, accepted.text
    case = await gw.get(f"/v1/cases/{case_id}", token)
    assert "decide_reinspection" in case["allowed_actions"]


async def test_failing_result_needs_the_labelled_manufacturer_three_two(world: Any) -> None:
    """三(二): a failing result cannot be marked notified while the case names no manufacturer."""
    case_id = await world.case(hazardous=False, with_manufacturer=False)
    case = await world.gw.get(f"/v1/cases/{case_id}", world.token)
    assert "send_result_notices" not in case["allowed_actions"]
    refused = await world.attempt(f"/v1/cases/{case_id}/result-notices")
    assert (refused.status_code, refused.json()["type"].rsplit(":", 1)[-1]) == (409, "manufacturer-unknown")
    assert (await world.gw.get(f"/v1/cases/{case_id}", world.token))["state"] == "result_received"


async def test_a_non_hazardous_stop_sale_needs_a_final_result_four_two(world: Any) -> None:
    """四(二): a merely failing product's stop-sale order needs a final result; the case does not offer it."""
    case_id = await world.case(hazardous=False)
    await world.gw.post(f"/v1/cases/{case_id}/result-notices", world.token)
    case = await world.gw.get(f"/v1/cases/{case_id}", world.token)
    assert "order_stop_sale" not in case["allowed_actions"]
    assert (await world.attempt(f"/v1/cases/{case_id}/stop-sale")).status_code == 409


async def test_an_authority_webhook_channel_is_checked_sealed_and_delivered_four_two(world: Any, receiver: Any) -> None:
    """四(二): the 通报 reaches the manufacturer's authority through its registered webhook, signed with a secret
    shown once and stored sealed; the endpoint passes the same SSRF guard as platforms."""
    gw = world.gw
    national = await gw.authority("100000", "国家市场监督管理总局")
    ningbo = await gw.post("/v1/authorities", national, {"name": "宁波市市场监督管理局", "division_code": "330200"})
    runtime = gw.client.app.state.runtime
    runtime.settings = runtime.settings.with_changes({"delivery.allow_private_endpoints": False})
    try:
        unsafe = await gw.client.put(
            f"/v1/authorities/{ningbo['id']}/channel",
            json={"webhook_url": "https://169.254.169.254/latest"},
            headers=gw.auth(national),
        )
    finally:
        runtime.settings = runtime.settings.with_changes({"delivery.allow_private_endpoints": True})
    assert unsafe.status_code == 400 and unsafe.json()["errors"][0]["field"] == "webhook_url"
    channel = await gw.client.put(
        f"/v1/authorities/{ningbo['id']}/channel", json={"webhook_url": receiver.url}, headers=gw.auth(national)
    )
    assert channel.status_code == 200, channel.text
    receiver.secret = channel.json()["webhook_signing_secret"]

    case_id = await world.case(hazardous=True, manufacturer={"name": "宁波某某电器厂", "division_code": "330282"})
    await gw.post(f"/v1/cases/{case_id}/stop-sale", world.token)
    [sent] = await world.outbound(case_id, "hazard.notification")
    assert (sent.recipient_id, sent.adapter) == (ningbo["id"], "webhook")
    assert receiver.secret not in sent.destination.__repr__()  # sealed, never in clear in the outbox
    opened = open_adapter_config(sent.destination, runtime.master_key, ningbo["id"])
    assert opened == {"url": receiver.url, "secret": receiver.secret}
    own = Runtime(gw.settings)  # a worker of its own, on this test's event loop, with the same master key
    worker = delivery_worker(own)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await own.stop()
    assert receiver.accepted[sent.id] == 1


async def test_order_hours_are_configurable_per_authority_four_two(world: Any) -> None:
    """四(二) 立即: an authority's own acknowledgement and effect hours replace the defaults (2 h, 24 h)."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=True)
    authority_id = (await gw.get(f"/v1/cases/{case_id}", token))["authority_id"]
    answer = await gw.client.put(
        f"/v1/authorities/{authority_id}/channel",
        json={"order_acknowledge_hours": 1, "order_effect_hours": 8},
        headers=gw.auth(token),
    )
    assert answer.status_code == 200, answer.text
    await gw.post(f"/v1/cases/{case_id}/stop-sale", token)
    [order] = await world.outbound(case_id, "stop_sale.order")
    spans = {d.kind: d.due_at - order.created_at for d in await world.deadlines(case_id) if d.message_id == order.id}
    assert timedelta(minutes=59) < spans[DeadlineKind.PLATFORM_ACKNOWLEDGEMENT] <= timedelta(hours=1, minutes=1)
    assert timedelta(hours=7, minutes=59) < spans[DeadlineKind.PLATFORM_ANSWER] <= timedelta(hours=8, minutes=1)
    inverted = await gw.client.put(
        f"/v1/authorities/{authority_id}/channel",
        json={"order_acknowledge_hours": 9, "order_effect_hours": 8},
        headers=gw.auth(token),
    )
    assert inverted.status_code == 400 and inverted.json()["errors"][0]["field"] == "order_acknowledge_hours"


async def test_an_acknowledgement_meets_only_the_acknowledgement_clock_four_two(world: Any) -> None:
    """四(二): acknowledging an order is not carrying it out; a receipt time in the future is refused (422)."""
    gw = world.gw
    case_id = await world.case(hazardous=True)
    await gw.post(f"/v1/cases/{case_id}/stop-sale", world.token)
    [order] = await world.outbound(case_id, "stop_sale.order")
    future = await gw.reply(world.platform, _ack(world, case_id, order.id, utcnow() + timedelta(hours=1)))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "$.data.received_at"
    assert (await gw.reply(world.platform, _ack(world, case_id, order.id, utcnow()))).status_code < 300
    statuses = {d.kind: d.status for d in await world.deadlines(case_id) if d.message_id == order.id}
    assert statuses == {DeadlineKind.PLATFORM_ACKNOWLEDGEMENT: "met", DeadlineKind.PLATFORM_ANSWER: "open"}


async def test_a_takedown_report_is_checked_against_its_order_four_two(world: Any) -> None:
    """四(二): a takedown.reported answers an order of its type, names only ordered measures, an effective time
    neither in the future nor before the order, and what was acted on (or none_found); else 422 naming the field."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=True)
    await gw.post(f"/v1/cases/{case_id}/stop-sale", token)
    [order] = await world.outbound(case_id, "stop_sale.order")
    now = utcnow()

    def report(**changes: Any) -> TakedownReported:
        fields: dict[str, Any] = {
            "case_id": case_id,
            "in_reply_to": order.id,
            "platform_id": world.platform.id,
            "order_type": "stop_sale.order",
            "measures_taken": ["stop_sale", "warning"],
            "listing_ids": ["L-1"],
            "shop_ids": ["shop-1"],
            "effective_at": now,
        } | changes
        return TakedownReported(timestamp=now, data=TakedownReportedData(**fields))

    for changes, field in (
        ({"order_type": "takedown.order"}, "$.data.order_type"),
        ({"measures_taken": ["stop_sale", "delete"]}, "$.data.measures_taken[1]"),
        ({"effective_at": now + timedelta(hours=1)}, "$.data.effective_at"),
        ({"effective_at": now - timedelta(days=1)}, "$.data.effective_at"),
        ({"listing_ids": [], "shop_ids": []}, "$.data.listing_ids"),
    ):
        refused = await gw.reply(world.platform, report(**changes))
        assert refused.status_code == 422, (changes, refused.text)
        assert refused.json()["errors"][0]["field"] == field
    none_found = await gw.reply(world.platform, report(listing_ids=[], shop_ids=[], none_found=True))
    assert none_found.status_code < 300, none_found.text
    assert {d.status for d in await world.deadlines(case_id) if d.message_id == order.id} == {"met"}


async def test_allowed_actions_are_only_those_that_can_succeed(world: Any) -> None:
    """四(二), 三(三), 四(三): a platform case never offers the telecom referral; a takedown only for an unreachable
    merchant; re-inspection actions only while a window is open; a transfer only to another authority."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=False)
    case = await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    assert {"refer_to_telecom", "order_takedown", "decide_reinspection", "finalize"}.isdisjoint(case["allowed_actions"])
    assert {"apply_reinspection", "waive_reinspection"} <= set(case["allowed_actions"])
    # 四(三): the platform sits in this authority's own province, so there is nobody to transfer a violation to.
    assert "transfer_violation" not in case["allowed_actions"]
    await gw.waive_reinspection(token, case_id)
    case = await gw.post(f"/v1/cases/{case_id}/finalize", token)
    assert "refer_to_telecom" not in case["allowed_actions"] and "order_takedown" not in case["allowed_actions"]
    assert "order_stop_sale" in case["allowed_actions"] and "order_delisting" not in case["allowed_actions"]
    await world.unreachable_merchant(case_id)
    assert "order_takedown" in (await gw.get(f"/v1/cases/{case_id}", token))["allowed_actions"]
    for action in case["allowed_actions"]:
        assert action not in {"apply_reinspection", "waive_reinspection"}


async def test_problems_state_deadlines_in_beijing_time(world: Any) -> None:
    """三(三) and every message a person reads: deadlines in Beijing time (``2026-12-22 23:59``), no UTC offsets."""
    gw, token = world.gw, world.token
    case_id = await world.case(hazardous=False)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    [to_merchant] = [
        m
        for m in await world.outbound(case_id, "result.notice")
        if m.recipient_kind == "platform" and world.body_of(m)["data"]["addressee_role"] == "merchant"
    ]
    await gw.reply(world.platform, _ack(world, case_id, to_merchant.id, utcnow()))
    still_open = await world.attempt(f"/v1/cases/{case_id}/finalize")
    detail = still_open.json()["detail"]
    assert still_open.status_code == 409 and "北京时间" in detail
    assert world.BEIJING.search(detail) and not world.UTC_SHAPE.search(detail)
    [merchant_window] = [d for d in await world.deadlines(case_id) if d.party == "merchant"]
    shown = merchant_window.due_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"merchant: 期限至 {shown}（北京时间）" in detail


async def test_a_manufacturer_whose_notice_bounced_is_told_by_announcement_three_two(world: Any) -> None:
    """三(二): when every notice to the manufacturer comes back undeliverable it is announced on the official website;
    its window stays provisional (the result cannot become final against it) until the announcement is published."""
    gw, token = world.gw, world.token
    maker = {"name": "宁波某某电器厂", "division_code": "330282", "contact_email": "gone@maker.example"}
    case_id = await world.case(hazardous=False, manufacturer=maker)
    await gw.post(f"/v1/cases/{case_id}/result-notices", token)
    [mail] = [m for m in await world.outbound(case_id, "result.notice") if m.recipient_kind == "manufacturer"]
    async with gw.sessions() as session, session.begin():
        await session.execute(update(OutboundMessage).where(OutboundMessage.id == mail.id).values(status="dead"))
    await gw.post("/v1/deadlines/sweep", token)
    [announced] = [m for m in await world.outbound(case_id, "result.notice") if m.adapter == "announcement"]
    assert (announced.recipient_kind, world.body_of(announced)["data"]["addressee_role"]) == (
        "manufacturer",
        "manufacturer",
    )
    await gw.post("/v1/deadlines/sweep", token)  # announced once, not at every sweep
    assert len([m for m in await world.outbound(case_id, "result.notice") if m.adapter == "announcement"]) == 1
    [window] = [d for d in await world.deadlines(case_id) if d.party == "manufacturer"]
    assert window.provisional and window.status == "open"
    await world.delivered(announced.id, world.ago(days=1))
    await gw.post("/v1/deadlines/sweep", token)
    [window] = [d for d in await world.deadlines(case_id) if d.party == "manufacturer"]
    assert not window.provisional and window.rule.startswith("15 days from receipt")


async def test_notice_emails_state_the_answer_deadline_in_beijing_time_four_two(world: Any) -> None:
    """四(二) and every message a person reads: a 立即 order's e-mail states its answer deadline in Beijing time."""
    gw = world.gw
    case_id = await world.case(hazardous=True)
    await gw.post(f"/v1/cases/{case_id}/stop-sale", world.token)
    [order] = await world.outbound(case_id, "stop_sale.order")
    text = email_text(
        OutgoingMessage(
            message_id=order.id,
            message_type=order.message_type,
            body=order.body,
            timestamp=order.timestamp,
            case_id=case_id,
            recipient_name="某某旗舰店",
        ),
        attachment="notice.json",
    )
    due = world.body_of(order)["data"]["respond_by"]
    shown = datetime.fromisoformat(due).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"答复期限：{shown}（北京时间）" in text
    assert due not in text and not world.UTC_SHAPE.search(text)


async def test_only_an_authority_covering_it_sets_another_authoritys_channel_four_two(world: Any) -> None:
    """四(二): a channel is set by the authority itself or one covering its area (admin); others are refused."""
    gw = world.gw
    ningbo = await gw.post("/v1/authorities", world.token, {"name": "宁波市市场监督管理局", "division_code": "330200"})
    guangdong = await gw.authority("440000", "广东省市场监督管理局")
    refused = await gw.client.put(
        f"/v1/authorities/{ningbo['id']}/channel", json={"email": "x@gd.example"}, headers=gw.auth(guangdong)
    )
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "authority_id"
    writer = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    no_admin = await gw.client.put(
        f"/v1/authorities/{ningbo['id']}/channel", json={"email": "x@zj.example"}, headers=gw.auth(writer)
    )
    assert no_admin.status_code == 403
    unknown = await gw.client.put(
        "/v1/authorities/auth_nope/channel", json={"email": "x@zj.example"}, headers=gw.auth(world.token)
    )
    assert unknown.status_code == 404
    answer = await gw.client.put(
        f"/v1/authorities/{ningbo['id']}/channel", json={"email": "tongbao@nb.example"}, headers=gw.auth(world.token)
    )
    assert answer.json() == {
        "authority_id": ningbo["id"],
        "webhook_url": None,
        "email": "tongbao@nb.example",
        "order_acknowledge_hours": None,
        "order_effect_hours": None,
        "webhook_signing_secret": None,
    }
