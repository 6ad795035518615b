"""Acknowledgements (三(一), 四(二)): the first receipt a platform reports stamps its notice, on both stores.

A plain acknowledgement (of a notice that starts no clock) is applied to plain rows by the intake's batch; these
tests hold it to what the object path did: the first receipt counts, later ones change nothing, a receipt in the
future or before the notice was issued is refused naming the field, and nothing else of the notice moves.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from spotcheck.gateway.intake.service import IntakeCommitter, VerifiedReply
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, Deadline, OutboundMessage
from spotcheck.gateway.store.statuses import DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id
from spotcheck.schemas import (
    NoticeAcknowledged,
    NoticeAcknowledgedData,
    RecordsUnavailable,
    RecordsUnavailableData,
    decode_reply,
    encode_message,
)
from spotcheck.sdk import new_message_id

from .conftest import case_with_notice


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
    platform, case_id, notice_id = await case_with_notice(gw, "sampling.notice", issued=issued)
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
    platform, case_id, notice_id = await case_with_notice(gw, "records.request", issued=issued)
    times = [(issued + timedelta(minutes=minutes)).replace(microsecond=0) for minutes in range(1, 9)]
    answers = await asyncio.gather(*(gw.reply(platform, _ack(case_id, notice_id, platform.id, at)) for at in times))
    assert [a.status_code for a in answers] == [200] * len(times)
    acknowledged, answered = await _stamps(gw, notice_id)
    assert acknowledged in times
    assert answered is None


async def test_a_receipt_in_the_future_or_before_the_notice_is_refused_naming_the_field(gateway: Any) -> None:
    gw = gateway
    issued = datetime.now(UTC) - timedelta(hours=2)
    platform, case_id, notice_id = await case_with_notice(gw, "sampling.notice", issued=issued)
    for received_at, words in (
        (datetime.now(UTC) + timedelta(hours=1), "is in the future"),
        (issued - timedelta(hours=1), "is before the notice was issued"),
        # The last moment Python keeps has no Beijing time to quote: still a 422, never a 500.
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "is in the future (9999-12-31T23:59:59+00:00"),
    ):
        response = await gw.reply(platform, _ack(case_id, notice_id, platform.id, received_at))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["errors"][0]["field"] == "$.data.received_at"
        assert words in problem["errors"][0]["reason"]
    assert await _stamps(gw, notice_id) == (None, None)


async def test_an_acknowledgement_and_an_answer_to_one_request_in_one_batch_both_take_effect(gateway: Any) -> None:
    """A plain acknowledgement (stamped on rows) and a declaration (applied to objects) of one records request,
    stored in one shared transaction: the receipt is stamped, the request answered and its clock met."""
    gw = gateway
    issued = datetime.now(UTC) - timedelta(hours=2)
    platform, case_id, notice_id = await case_with_notice(gw, "records.request", issued=issued)
    async with gw.sessions() as session, session.begin():
        notice = await session.get(OutboundMessage, notice_id)
        assert notice is not None
        notice.body = b'{"type": "records.request", "data": {"orders": ["ORD-1"]}}'
        case = await session.get(Case, case_id)
        assert case is not None
        session.add(
            Deadline(
                id=new_id("dl"),
                case_id=case_id,
                **case.scope(),
                kind=DeadlineKind.PLATFORM_ANSWER,
                party=f"platform:{platform.id}",
                message_id=notice_id,
                due_at=datetime.now(UTC) + timedelta(days=3),
                rule="5 working days",
                basis="test",
            )
        )
    received = (issued + timedelta(minutes=1)).replace(microsecond=0)
    declared = RecordsUnavailable(
        timestamp=datetime.now(UTC),
        data=RecordsUnavailableData(
            case_id=case_id, in_reply_to=notice_id, platform_id=platform.id, orders=["ORD-1"], reason="已超过保存期限"
        ),
    )
    replies = []
    for message in (_ack(case_id, notice_id, platform.id, received), declared):
        body = encode_message(message)
        replies.append(
            VerifiedReply(
                platform_id=platform.id,
                webhook_id=new_message_id(),
                timestamp=str(int(time.time())),
                signature="v1a,test",
                body=body,
                digest=hashlib.sha256(body).hexdigest(),
                reply=decode_reply(body),
            )
        )
    # A committer on this test's event loop (the app's runs on the test client's), fed one batch of the two, as
    # concurrent requests make.
    runtime = Runtime(gw.settings)
    try:
        acknowledged, answered = await IntakeCommitter(runtime)._store(replies)
        batches = next(iter(runtime.metrics.intake_batch.collect())).samples
    finally:
        await runtime.stop()
    assert not isinstance(acknowledged, Exception) and not isinstance(answered, Exception), (acknowledged, answered)
    assert {(s.name, s.value) for s in batches} >= {("spotcheck_intake_batch_replies_count", 1.0)}
    assert {(s.name, s.value) for s in batches} >= {("spotcheck_intake_batch_replies_sum", 2.0)}
    assert acknowledged.detail == {"acknowledged": notice_id}
    assert answered.detail == {"declared_unavailable": ["ORD-1"], "missing": [], "complete": True}
    stamped, answered_at = await _stamps(gw, notice_id)
    assert stamped == received
    assert answered_at is not None
    async with gw.sessions() as session:
        clock = (await session.scalars(select(Deadline).where(Deadline.message_id == notice_id))).one()
        assert clock.status == DeadlineStatus.MET
