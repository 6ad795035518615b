"""The intake's group commit (issue 16, item 5): concurrent replies share a transaction and keep their own answers.

Every reply is answered only after the commit that holds it; a reply refused inside a shared batch costs nobody
else anything; a webhook-id sent twice at once is stored once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from spotcheck.gateway.intake.batcher import ReplyBatcher
from spotcheck.gateway.store.models import AuditRecord, InboundMessage
from spotcheck.schemas import MerchantIdentity, MerchantIdentityData, NoticeAcknowledged, NoticeAcknowledgedData
from spotcheck.sdk import new_message_id

from .conftest import case_with_notice

pytestmark = pytest.mark.postgres


def _ack(case_id: str, notice_id: str, platform_id: str) -> NoticeAcknowledged:
    """Received now: a receipt before the notice was issued is refused (422), so never the time of import."""
    now = datetime.now(UTC)
    return NoticeAcknowledged(
        timestamp=now,
        data=NoticeAcknowledgedData(case_id=case_id, in_reply_to=notice_id, platform_id=platform_id, received_at=now),
    )


async def _count(gw: Any, model: Any) -> int:
    async with gw.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_concurrent_replies_are_each_stored_once_and_answered_with_their_own_leaf(gateway: Any) -> None:
    gw = gateway
    platform, case_id, notice_id = await case_with_notice(gw)
    audit_before = await _count(gw, AuditRecord)
    responses = await asyncio.gather(*(gw.reply(platform, _ack(case_id, notice_id, platform.id)) for _ in range(40)))
    assert [r.status_code for r in responses] == [200] * 40, [r.text for r in responses if r.status_code != 200]
    answers = [r.json() for r in responses]
    assert {a["status"] for a in answers} == {"accepted"}
    assert len({a["id"] for a in answers}) == 40
    assert len({a["leaf_hash"] for a in answers}) == 40
    assert await _count(gw, InboundMessage) == 40
    # Two audit records per reply (the record and the message's own leaf), nothing else.
    assert await _count(gw, AuditRecord) - audit_before == 80


async def test_a_webhook_id_sent_twice_at_once_is_stored_once(gateway: Any) -> None:
    gw = gateway
    platform, case_id, notice_id = await case_with_notice(gw)
    msg_id = new_message_id()
    ack = _ack(case_id, notice_id, platform.id)
    same = await asyncio.gather(*(gw.reply(platform, ack, msg_id=msg_id) for _ in range(6)))
    assert [r.status_code for r in same] == [200] * 6
    statuses = sorted(r.json()["status"] for r in same)
    assert statuses == ["accepted"] + ["duplicate"] * 5
    assert len({r.json()["id"] for r in same}) == 1
    assert len({r.json()["leaf_hash"] for r in same}) == 1
    assert await _count(gw, InboundMessage) == 1


async def test_a_reused_webhook_id_with_another_body_in_the_same_batch_is_409(gateway: Any) -> None:
    gw = gateway
    platform, case_id, notice_id = await case_with_notice(gw)
    msg_id = new_message_id()
    first = _ack(case_id, notice_id, platform.id)
    other = NoticeAcknowledged(
        timestamp=first.timestamp,
        data=NoticeAcknowledgedData(
            case_id=case_id,
            in_reply_to=notice_id,
            platform_id=platform.id,
            received_at=first.data.received_at + timedelta(seconds=1),
        ),
    )
    answers = await asyncio.gather(gw.reply(platform, first, msg_id=msg_id), gw.reply(platform, other, msg_id=msg_id))
    assert sorted(r.status_code for r in answers) == [200, 409]
    conflict = next(r for r in answers if r.status_code == 409)
    assert conflict.json()["type"] == "urn:spotcheck:problem:idempotency-conflict"
    assert await _count(gw, InboundMessage) == 1


async def test_a_refused_reply_in_a_shared_batch_costs_the_others_nothing(gateway: Any) -> None:
    """A reply that does not fit its notice is refused on its own; the replies around it are stored."""
    gw = gateway
    platform, case_id, notice_id = await case_with_notice(gw)
    foreign = _ack(case_id, "msg_not_a_notice_of_this_case", platform.id)
    # An identity answering a records request: refused by the effect, after decoding and the ownership check.
    misplaced = MerchantIdentity(
        timestamp=datetime.now(UTC),
        data=MerchantIdentityData(
            case_id=case_id,
            in_reply_to=notice_id,
            platform_id=platform.id,
            shop_id="s-1",
            unable=True,
            unable_reason="店铺已注销",
        ),
    )
    good = [_ack(case_id, notice_id, platform.id) for _ in range(10)]
    responses = await asyncio.gather(*(gw.reply(platform, m) for m in [*good[:5], foreign, misplaced, *good[5:]]))
    codes = [r.status_code for r in responses]
    assert codes[:5] == [200] * 5
    assert codes[7:] == [200] * 5
    assert codes[5] == 403
    assert codes[6] in {409, 422}, responses[6].text
    assert "in_reply_to" in responses[6].json()["detail"]
    assert await _count(gw, InboundMessage) == 10


async def test_the_batcher_shares_batches_answers_each_item_and_survives_a_failed_batch() -> None:
    seen: list[list[int]] = []
    gate = asyncio.Event()

    async def process(items: Any) -> list[int | Exception]:
        seen.append(list(items))
        if len(seen) == 1:
            await gate.wait()  # the first batch is under way while the others arrive
        if 13 in items:
            raise RuntimeError("the store is down")
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    batcher = ReplyBatcher[int, int](process, max_batch=4)
    first = asyncio.create_task(batcher.submit(0))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 7)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert seen == [[0], [1, 2, 3, 4], [5, 6]]  # nothing waited to fill a batch; the rest shared, at most 4
    assert results[0] == 0
    assert results[2] == 20
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "odd 1"
    failed = await asyncio.gather(batcher.submit(13), return_exceptions=True)
    assert isinstance(failed[0], RuntimeError)
    assert await batcher.submit(8) == 80  # the next batch runs
    await batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(2)


async def test_a_cancelled_request_does_not_take_its_item_back() -> None:
    stored: list[int] = []
    release = asyncio.Event()

    async def process(items: Any) -> list[int | Exception]:
        await release.wait()
        stored.extend(items)
        return list(items)

    batcher = ReplyBatcher[int, int](process)
    waiting = asyncio.create_task(batcher.submit(7))
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await batcher.close()
    assert stored == [7]
