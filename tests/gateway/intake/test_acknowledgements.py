"""Acknowledgements (三(一), 四(二)): the first receipt a platform reports stamps its notice, on both stores.

A plain acknowledgement (of a notice that starts no clock) is applied to plain rows by the intake's batch; these
tests hold it to what the object path did: the first receipt counts, later ones change nothing, a receipt in the
future or before the notice was issued is refused naming the field, and nothing else of the notice moves.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData
from spotcheck.sdk import new_message_id


async def _notice(gw: Any, message_type: str, *, issued: datetime) -> tuple[Any, str, str]:
    """A platform, a case of its merchant, and a ``message_type`` notice sent to it at ``issued`` (in the outbox)."""
    token = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(token, "ack-mall")
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {"platform_id": platform.id, "shop_id": "s-ack", "shop_name": "店", "kind": "natural_person"},
    )
    product = {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"}
    case = await gw.post(
        "/v1/cases", token, {"merchant_id": merchant["id"], "plan_reference": "计划", "product": product}
    )
    notice_id = new_message_id()
    async with gw.sessions() as session, session.begin():
        session.add(
            OutboundMessage(
                id=notice_id,
                case_id=case["id"],
                message_type=message_type,
                recipient_kind="platform",
                recipient_id=platform.id,
                recipient_name="测试商城",
                adapter="webhook",
                destination={"platform_id": platform.id},
                body=b"{}",
                timestamp=int(time.time()),
                status="delivered",
                created_at=issued,
            )
        )
    return platform, case["id"], notice_id


def _ack(case_id: str, notice_id: str, platform_id: str, received_at: datetime) -> NoticeAcknowledged:
    return NoticeAcknowledged(
        timestamp=datetime.now(UTC),
        data=NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=notice_id, platform_id=platform_id, received_at=received_at
        ),
    )


async def _stamps(gw: Any, notice_id: str) -> tuple[datetime | None, datetime | None]:
    async with gw.sessions() as session:
        notice = await session.get(OutboundMessage, notice_id)
        assert notice is not None
        return notice.acknowledged_at, notice.answered_at


async def test_the_first_receipt_stamps_the_notice_and_later_ones_change_nothing(gateway: Any) -> None:
    gw = gateway
    issued = datetime.now(UTC) - timedelta(hours=2)
    platform, case_id, notice_id = await _notice(gw, "sampling.notice", issued=issued)
    first = (issued + timedelta(minutes=3)).replace(microsecond=0)
    response = await gw.reply(platform, _ack(case_id, notice_id, platform.id, first))
    assert response.status_code == 200, response.text
    assert response.json()["detail"] == {"acknowledged": notice_id}
    assert await _stamps(gw, notice_id) == (first, None)  # received, not answered: an acknowledgement answers nothing

    later = [first + timedelta(minutes=minutes) for minutes in (5, 10, 15, 20)]
    answers = await asyncio.gather(*(gw.reply(platform, _ack(case_id, notice_id, platform.id, at)) for at in later))
    assert [a.status_code for a in answers] == [200] * 4
    assert await _stamps(gw, notice_id) == (first, None)


async def test_receipts_acknowledged_together_stamp_the_notice_once(gateway: Any) -> None:
    gw = gateway
    issued = datetime.now(UTC) - timedelta(hours=2)
    platform, case_id, notice_id = await _notice(gw, "records.request", issued=issued)
    times = [(issued + timedelta(minutes=minutes)).replace(microsecond=0) for minutes in range(1, 9)]
    answers = await asyncio.gather(*(gw.reply(platform, _ack(case_id, notice_id, platform.id, at)) for at in times))
    assert [a.status_code for a in answers] == [200] * len(times)
    acknowledged, answered = await _stamps(gw, notice_id)
    assert acknowledged in times
    assert answered is None


async def test_a_receipt_in_the_future_or_before_the_notice_is_refused_naming_the_field(gateway: Any) -> None:
    gw = gateway
    issued = datetime.now(UTC) - timedelta(hours=2)
    platform, case_id, notice_id = await _notice(gw, "sampling.notice", issued=issued)
    for received_at, words in (
        (datetime.now(UTC) + timedelta(hours=1), "is in the future"),
        (issued - timedelta(hours=1), "is before the notice was issued"),
    ):
        response = await gw.reply(platform, _ack(case_id, notice_id, platform.id, received_at))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"][0]["field"] == "$.data.received_at"
        assert words in problem["errors"][0]["reason"]
    assert await _stamps(gw, notice_id) == (None, None)
