"""The outbox queue on both databases: leased claims, settling, the idle wait and the wake-ups."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from spotcheck.gateway.delivery.queue import (
    ClaimedMessage,
    OutboxQueue,
    PostgresOutboxQueue,
    SqliteOutboxQueue,
    notify_committed,
    outbox_queue,
)
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.gateway.store.types import utcnow
from spotcheck.sdk import new_message_id


async def enqueue(runtime: Runtime, count: int, *, due_in_s: float = 0.0) -> list[str]:
    ids = [new_message_id() for _ in range(count)]
    async with runtime.sessions() as session, session.begin():
        session.add_all(
            OutboundMessage(
                id=message_id,
                case_id=None,
                message_type="sampling.notice",
                recipient_kind="platform",
                recipient_id="mall",
                recipient_name="测试商城",
                adapter="memory",
                destination={},
                body=b"{}",
                timestamp=int(time.time()),
                next_attempt_at=utcnow() + timedelta(seconds=due_in_s),
            )
            for message_id in ids
        )
    return ids


async def row(runtime: Runtime, message_id: str) -> OutboundMessage:
    async with runtime.sessions() as session:
        found = await session.get(OutboundMessage, message_id)
    assert found is not None
    return found


async def test_the_queue_is_chosen_once_from_the_engine(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    expected = PostgresOutboxQueue if runtime.engine.dialect.name == "postgresql" else SqliteOutboxQueue
    assert type(queue) is expected


async def test_two_claimers_never_get_the_same_message(runtime: Runtime) -> None:
    ids = await enqueue(runtime, 120)
    other = Runtime(runtime.settings)  # a second process: its own engine and connections
    try:
        queues: list[OutboxQueue] = [outbox_queue(runtime), outbox_queue(other)]

        async def drain(queue: OutboxQueue, owner: str) -> list[str]:
            got: list[str] = []
            while claimed := await queue.claim(owner, 7, lease_s=60):
                got.extend(c.id for c in claimed)
            return got

        first, second = await asyncio.gather(drain(queues[0], "w0"), drain(queues[1], "w1"))
    finally:
        await other.stop()
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    async with runtime.sessions() as session:
        owners = set((await session.scalars(select(OutboundMessage.lease_owner))).all())
    assert owners <= {"w0", "w1"}


async def test_a_lease_holds_a_message_until_it_lapses_and_a_lapsed_owner_cannot_settle(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    [message_id] = await enqueue(runtime, 1)
    await enqueue(runtime, 1, due_in_s=3600)  # not due: never claimed
    [held] = await queue.claim("w0", 10, lease_s=60)
    assert held.id == message_id
    assert await queue.claim("w1", 10, lease_s=60) == []
    async with runtime.sessions() as session, session.begin():
        stale = await session.get(OutboundMessage, message_id)
        assert stale is not None
        stale.lease_expires_at = utcnow() - timedelta(seconds=1)  # w0 died: its lease ran out
    [taken] = await queue.claim("w1", 10, lease_s=60)
    assert taken.id == message_id
    async with runtime.sessions() as session, session.begin():
        assert not await queue.retry_later(session, held, "w0", delay_s=5, status="retry", error="late")
        assert await queue.retry_later(session, taken, "w1", delay_s=5, status="retry", error="HTTP 500")
    settled = await row(runtime, message_id)
    assert (settled.status, settled.attempt_count, settled.last_error, settled.lease_owner) == (
        "pending",
        1,
        "HTTP 500",
        None,
    )


async def test_a_claim_takes_the_oldest_due_of_pending_and_lapsed_messages_together(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    *ids, live = await enqueue(runtime, 7)
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        for position, message_id in enumerate(ids):
            message = await session.get(OutboundMessage, message_id)
            assert message is not None
            message.next_attempt_at = now - timedelta(seconds=60 - 10 * position)  # ids[0] is the oldest
            if position % 2:  # every other one was leased by a worker that died
                message.status, message.lease_owner = "delivering", "dead"
                message.lease_expires_at = now - timedelta(seconds=1)
        leased = await session.get(OutboundMessage, live)
        assert leased is not None
        # The oldest of all, but leased by a live worker: never taken.
        leased.next_attempt_at = now - timedelta(seconds=120)
        leased.status, leased.lease_owner, leased.lease_expires_at = "delivering", "alive", now + timedelta(hours=1)
    first = await queue.claim("w1", 4, lease_s=60)
    assert sorted(c.id for c in first) == sorted(ids[:4])  # by due time, whichever kind they are
    rest = await queue.claim("w1", 4, lease_s=60)
    assert sorted(c.id for c in rest) == sorted(ids[4:])


async def test_settling_marks_delivered_once_dead_letters_and_puts_back(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    delivered_id, dead_id, back_id = await enqueue(runtime, 3)
    items = {c.id: c for c in await queue.claim("w0", 10, lease_s=60)}
    async with runtime.sessions() as session, session.begin():
        assert await queue.complete(session, [delivered_id]) == [delivered_id]
        assert await queue.complete(session, [delivered_id]) == []  # never counted (or undone) twice
        assert await queue.dead_letter(session, items[dead_id], "w0", status="gone", error="HTTP 410")
    await queue.put_back(items[back_id], "w0", delay_s=300, reason="circuit open")
    delivered, dead, back = [await row(runtime, i) for i in (delivered_id, dead_id, back_id)]
    assert (delivered.status, delivered.attempt_count, delivered.last_status) == ("delivered", 1, "delivered")
    assert (dead.status, dead.attempt_count, dead.last_status) == ("dead", 1, "gone")
    assert (back.status, back.attempt_count, back.last_error) == ("pending", 0, "circuit open")
    assert 290 < await queue.next_due_in(at_most=1e6) <= 300
    assert await queue.next_due_in(at_most=1.0) == 1.0


async def test_an_empty_outbox_is_polled_at_the_longest_wait(runtime: Runtime) -> None:
    assert await outbox_queue(runtime).next_due_in(at_most=1.0) == 1.0


async def test_a_committed_enqueue_wakes_the_workers(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    async with queue.wakeups() as wakeup:
        await asyncio.sleep(0.5)  # LISTEN reaches the server
        wakeup.clear()
        async with runtime.sessions() as session, session.begin():
            await notify_committed(session)
        if isinstance(queue, SqliteOutboxQueue):
            await asyncio.sleep(0.3)
            assert not wakeup.is_set()  # nothing is sent on SQLite: the committer wakes the worker in process
            runtime.wake_outbox()
        await asyncio.wait_for(wakeup.wait(), 5)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_on_postgres_only_a_commit_sends_the_notification(runtime: Runtime) -> None:
    queue = outbox_queue(runtime)
    async with queue.wakeups() as wakeup:
        await asyncio.sleep(0.5)
        wakeup.clear()
        async with runtime.sessions() as session:
            await session.begin()
            await notify_committed(session)
            await session.rollback()
        await asyncio.sleep(0.5)
        assert not wakeup.is_set()
        async with runtime.sessions() as session, session.begin():
            await notify_committed(session)
        await asyncio.wait_for(wakeup.wait(), 5)


def test_a_claimed_message_names_its_endpoint() -> None:
    item = ClaimedMessage("m", None, "t", "platform", "mall", "商城", "webhook", {}, b"", 0, 0)
    assert item.endpoint == "webhook:platform:mall"
