"""The delivery worker against a real local receiver: flaky endpoints, 410, 429, SIGKILL, two workers."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from spotcheck.gateway.audit.chain import verify_chain
from spotcheck.gateway.delivery.worker import DeliveryWorker
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import delivery_worker
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord, DeliveryAttempt, OperationalEvent, OutboundMessage, Platform
from spotcheck.gateway.store.types import utcnow

FAST_SCHEDULE = (0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)


def _worker_settings(gateway: Any, changes: dict[str, Any] | None = None) -> Settings:
    base: dict[str, Any] = {
        "delivery.retry_schedule": FAST_SCHEDULE,
        "delivery.retry_jitter": 0.0,
        "worker.lease_s": 5,
        "delivery.circuit_failures": 1000,
        "worker.run": False,
    }
    base.update(changes or {})
    return gateway.settings.with_changes(base)


async def _run_until(worker: DeliveryWorker, gateway: Any, done: Any, limit_s: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            if await done():
                return
            await asyncio.sleep(0.05)
        pytest.fail("the worker did not finish in time")
    finally:
        stop.set()
        worker.runtime.wake_outbox()
        await asyncio.wait_for(task, 30)


async def _deliver_everything(worker: DeliveryWorker, gateway: Any, count: int) -> None:
    """Run the worker until ``count`` messages are delivered, then stop its runtime."""

    async def done() -> bool:
        return (await _statuses(gateway)).get("delivered", 0) == count

    try:
        await _run_until(worker, gateway, done)
    finally:
        await worker.runtime.stop()


async def _statuses(gateway: Any) -> Counter[str]:
    async with gateway.sessions() as session:
        rows = await session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))
        return Counter({str(status): int(count) for status, count in rows})


@pytest.mark.postgres
async def test_flaky_receiver_gets_every_message_once_after_dedupe(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=0.3)
    ids = await gateway.enqueue_raw(platform_id, 60)
    receiver.fail_rate, receiver.timeout_rate = 0.3, 0.1
    runtime = Runtime(_worker_settings(gateway))
    worker = delivery_worker(runtime, rng=random.Random(3).random)

    await _deliver_everything(worker, gateway, len(ids))
    assert set(receiver.accepted) == set(ids)  # every message arrived and was answered 2xx
    assert sum(receiver.seen.values()) > len(ids)  # ...through real retries
    async with gateway.sessions() as session:
        attempts = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
        failed = await session.scalar(select(func.count()).where(DeliveryAttempt.outcome != "delivered"))
    assert attempts is not None
    assert failed is not None
    assert attempts == len(ids) + failed
    assert failed > 0


@pytest.mark.postgres
async def test_outcomes_finishing_together_share_one_commit_and_keep_the_chain(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=10)  # no timeouts on a loaded machine
    ids = await gateway.enqueue_raw(platform_id, 40)
    receiver.latency_s = 0.02  # deliveries overlap, so their outcomes queue behind one write
    runtime = Runtime(_worker_settings(gateway, {"worker.concurrency": 16, "delivery.endpoint_rate_per_s": 1e6}))
    worker = delivery_worker(runtime)
    try:
        claimed = await worker.run_once()
        while claimed:
            claimed = await worker.run_once()
    finally:
        await worker.aclose()
        await runtime.stop()
    assert set(receiver.accepted) == set(ids)
    assert worker.delivered == len(ids)
    async with gateway.sessions() as session:
        assert (await _statuses(gateway))["delivered"] == len(ids)
        attempts = (await session.scalars(select(DeliveryAttempt.message_id))).all()
        assert sorted(attempts) == sorted(ids)  # one attempt row each, none lost in a batch
        delivered = (
            await session.execute(
                select(AuditRecord.subject, AuditRecord.at).where(AuditRecord.action == "message.delivered")
            )
        ).all()
        assert sorted(subject for subject, _ in delivered) == sorted(ids)
        # A batch shares its commit time: far fewer commits than messages.
        assert len({at for _, at in delivered}) < len(ids) // 2
        checked, broken = await verify_chain(session)
    assert broken is None
    assert checked >= len(ids)


@pytest.mark.postgres
async def test_a_slow_endpoint_does_not_hold_back_deliveries_to_others(
    gateway: Any, receiver: Any, second_receiver: Any
) -> None:
    slow_platform = await gateway.receiver_platform(receiver, timeout_s=30, platform_id="slow-mall")
    fast_platform = await gateway.receiver_platform(second_receiver, platform_id="fast-mall")
    receiver.latency_s = 8.0
    slow = await gateway.enqueue_raw(slow_platform, 2)  # claimed first: the outbox is served oldest first
    fast = await gateway.enqueue_raw(fast_platform, 30)
    runtime = Runtime(
        _worker_settings(gateway, {"worker.concurrency": 4, "worker.batch": 4, "delivery.endpoint_rate_per_s": 1e6})
    )
    worker = delivery_worker(runtime)

    snapshot: dict[str, Any] = {}

    async def fast_done() -> bool:
        if len(second_receiver.accepted) < len(fast):
            return False
        snapshot.update(slow_in_flight=set(receiver.in_flight), slow_accepted=sum(receiver.accepted.values()))
        return True

    try:
        await _run_until(worker, gateway, fast_done)
    finally:
        await runtime.stop()
    # Every fast message went through the two free slots while the slow ones were still being answered...
    assert snapshot == {"slow_in_flight": set(slow), "slow_accepted": 0}
    assert set(second_receiver.accepted) == set(fast)
    # ...and stopping the worker waited for them instead of abandoning them.
    assert set(receiver.accepted) == set(slow)


async def test_the_worker_fills_every_slot_even_when_a_claim_is_smaller(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=10)
    ids = await gateway.enqueue_raw(platform_id, 16)
    receiver.latency_s = 1.0  # long enough for four claims of two, even on a loaded machine
    runtime = Runtime(
        _worker_settings(gateway, {"worker.concurrency": 8, "worker.batch": 2, "delivery.endpoint_rate_per_s": 1e6})
    )
    worker = delivery_worker(runtime)

    async def done() -> bool:
        return len(receiver.accepted) == len(ids)

    try:
        await _run_until(worker, gateway, done)
    finally:
        await runtime.stop()
    # Claims of two at a time still fill all eight slots before the first answer comes back.
    assert receiver.peak_in_flight >= 6
    assert set(receiver.accepted) == set(ids)


async def test_a_success_frees_its_slot_before_its_record_commits_but_a_failure_holds_it(
    gateway: Any, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=10)
    ids = await gateway.enqueue_raw(platform_id, 3)
    runtime = Runtime(_worker_settings(gateway, {"worker.concurrency": 1, "delivery.endpoint_rate_per_s": 1e6}))
    worker = delivery_worker(runtime)
    gate = asyncio.Event()  # every record waits here: the store is slow
    real_write = worker.writer.write

    async def held_write(batch: list[Any]) -> None:
        await gate.wait()
        await real_write(batch)

    monkeypatch.setattr(worker.writer, "write", held_write)
    try:
        running = asyncio.create_task(worker.run_once())
        deadline = time.monotonic() + 30
        while len(receiver.accepted) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # One slot, and all three went out while no record could commit...
        assert set(receiver.accepted) == set(ids)
        assert worker.delivered == 0
        assert (await _statuses(gateway))["delivering"] == len(ids)  # ...each still leased meanwhile
        gate.set()
        assert await running == len(ids)
        assert worker.delivered == len(ids)

        # A failure keeps its slot until it is recorded (so a 410 disables the endpoint before the next try).
        gate.clear()
        receiver.status = 503
        failing = await gateway.enqueue_raw(platform_id, 2)
        running = asyncio.create_task(worker.run_once())
        while sum(receiver.seen[i] for i in failing) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert sum(receiver.seen[i] for i in failing) == 1
        gate.set()
        assert await running == len(failing)
        assert all(receiver.seen[i] == 1 for i in failing)
    finally:
        gate.set()
        await worker.aclose()
        await runtime.stop()


async def test_a_failed_group_commit_is_retried_and_then_split(
    gateway: Any, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=10)
    ids = await gateway.enqueue_raw(platform_id, 12)
    receiver.latency_s = 0.02
    runtime = Runtime(_worker_settings(gateway, {"worker.concurrency": 12, "delivery.endpoint_rate_per_s": 1e6}))
    worker = delivery_worker(runtime)
    monkeypatch.setattr(worker.recorder, "retry_delays_s", (0.01, 0.01))
    real_write = worker.writer.write
    calls: list[int] = []

    async def flaky_write(batch: list[Any]) -> None:
        calls.append(len(batch))
        if len(batch) > 1:  # every shared commit fails (a busy or restarting store); single ones go through
            raise OSError("database is restarting")
        await real_write(batch)

    monkeypatch.setattr(worker.writer, "write", flaky_write)

    await _deliver_everything(worker, gateway, len(ids))
    assert max(calls) > 1  # outcomes were grouped, the group failed and was retried...
    assert worker.delivered == len(ids)  # ...then written one by one, each counted once
    assert (await _statuses(gateway))["delivered"] == len(ids)
    assert sorted(receiver.accepted) == sorted(ids)
    async with gateway.sessions() as session:
        attempts = (await session.scalars(select(DeliveryAttempt.message_id))).all()
        assert sorted(attempts) == sorted(ids)  # no attempt recorded twice by the retries
        checked, broken = await verify_chain(session)
    assert broken is None
    assert checked >= len(ids)


async def test_stopping_waits_a_grace_period_for_a_hanging_delivery_then_leaves_it_to_its_lease(
    gateway: Any, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform_id = await gateway.receiver_platform(receiver, timeout_s=60)
    (message_id,) = await gateway.enqueue_raw(platform_id, 1)
    receiver.latency_s = 8.0
    monkeypatch.setattr("spotcheck.gateway.delivery.worker._DRAIN_GRACE_S", 0.5)
    runtime = Runtime(_worker_settings(gateway))
    worker = delivery_worker(runtime)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(200):
            if receiver.in_flight:
                break
            await asyncio.sleep(0.05)
        assert receiver.in_flight == {message_id}
        stop.set()
        runtime.wake_outbox()
        await asyncio.wait_for(task, 5)  # well before the receiver's 8 s
    finally:
        receiver.latency_s = 0.0
        await runtime.stop()
    async with gateway.sessions() as session:
        row = await session.get(OutboundMessage, message_id)
    assert row is not None
    assert row.status == "delivering"  # still leased: the next worker takes it over once the lease lapses
    assert row.lease_expires_at is not None


@pytest.mark.postgres
async def test_410_dead_letters_and_disables_the_endpoint(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    [first] = await gateway.enqueue_raw(platform_id, 1)
    receiver.status = 410
    runtime = Runtime(_worker_settings(gateway))
    worker = delivery_worker(runtime)
    try:
        assert await worker.run_once() == 1
        second = (await gateway.enqueue_raw(platform_id, 1))[0]
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
        await runtime.stop()
    async with gateway.sessions() as session:
        dead = await session.get(OutboundMessage, first)
        held = await session.get(OutboundMessage, second)
        platform = await session.get(Platform, platform_id)
        kinds = set((await session.scalars(select(OperationalEvent.kind))).all())
    assert dead is not None
    assert dead.status == "dead"
    assert platform is not None
    assert platform.disabled_at is not None
    assert "endpoint.disabled" in kinds
    assert "delivery.gone" in kinds
    # A later message to the disabled endpoint is held for the operator, never dropped.
    assert held is not None
    assert held.status == "pending"
    assert held.last_error is not None
    assert "disabled" in held.last_error
    assert receiver.seen[second] == 0


@pytest.mark.postgres
async def test_429_retry_after_is_honoured(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    [msg_id] = await gateway.enqueue_raw(platform_id, 1)
    receiver.status, receiver.headers = 429, {"Retry-After": "30"}
    runtime = Runtime(_worker_settings(gateway))
    worker = delivery_worker(runtime)
    try:
        before = utcnow()
        await worker.run_once()
    finally:
        await worker.aclose()
        await runtime.stop()
    async with gateway.sessions() as session:
        row = await session.get(OutboundMessage, msg_id)
    assert row is not None
    assert row.status == "pending"
    assert row.last_status == "throttled"
    assert row.attempt_count == 1
    assert row.next_attempt_at >= before + timedelta(seconds=29)


@pytest.mark.postgres
async def test_circuit_breaker_stops_hammering_a_failing_endpoint(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    await gateway.enqueue_raw(platform_id, 10)
    receiver.status = 503
    runtime = Runtime(
        _worker_settings(
            gateway, {"delivery.circuit_failures": 3, "delivery.circuit_cooldown_s": 60, "worker.concurrency": 1}
        )
    )
    worker = delivery_worker(runtime)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await runtime.stop()
    assert sum(receiver.seen.values()) == 3  # the circuit opened after three failures
    async with gateway.sessions() as session:
        held = await session.scalar(select(func.count()).where(OutboundMessage.last_error == "circuit open"))
    assert held == 7


@pytest.mark.slow
@pytest.mark.postgres
async def test_worker_killed_with_sigkill_loses_nothing(gateway: Any, receiver: Any, tmp_path: Path) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    ids = await gateway.enqueue_raw(platform_id, 40)
    receiver.latency_s = 0.1
    env = {
        **os.environ,
        "SPOTCHECK_DATA_DIR": str(gateway.settings.store.data_dir),
        "SPOTCHECK_DATABASE_URL": gateway.settings.store.url,
        "SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS": "true",
        "SPOTCHECK_WORKER_LEASE_S": "2",
        "SPOTCHECK_WORKER_BATCH": "8",
        "SPOTCHECK_WORKER_CONCURRENCY": "4",
        "SPOTCHECK_RETRY_SCHEDULE": "0.1,0.1,0.2,0.5",
        "SPOTCHECK_LOG_LEVEL": "WARNING",
    }
    spotcheck = str(Path(sys.executable).with_name("spotcheck"))
    first = await asyncio.create_subprocess_exec(spotcheck, "worker", "--id", "doomed", env=env)
    try:
        deadline = time.monotonic() + 30
        while sum(receiver.accepted.values()) < 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert sum(receiver.accepted.values()) >= 8, "the first worker never got going"
    finally:
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 10)
    assert len(receiver.accepted) < len(ids), "the worker finished before it could be killed"
    second = await asyncio.create_subprocess_exec(spotcheck, "worker", "--id", "survivor", env=env)
    try:
        deadline = time.monotonic() + 60
        while (await _statuses(gateway)).get("delivered", 0) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 20)
    assert (await _statuses(gateway)) == Counter({"delivered": len(ids)})
    assert set(receiver.accepted) == set(ids)  # counted by webhook-id: nothing lost
    async with gateway.sessions() as session:
        workers = set((await session.scalars(select(DeliveryAttempt.worker))).all())
    assert workers == {"doomed", "survivor"}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SKIP LOCKED sharing is the PostgreSQL path
async def test_two_workers_on_postgres_never_hold_the_same_delivery(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    ids = await gateway.enqueue_raw(platform_id, 120)
    receiver.latency_s = 0.05
    # A lease far longer than any delivery: a lapse on a loaded machine would be a legitimate second claim.
    settings = _worker_settings(gateway, {"worker.batch": 10, "worker.concurrency": 10, "worker.lease_s": 120})
    runtimes = [Runtime(settings), Runtime(settings)]
    workers = [delivery_worker(rt, worker_id=f"w{i}") for i, rt in enumerate(runtimes)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        deadline = time.monotonic() + 60
        while (await _statuses(gateway)).get("delivered", 0) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        for rt in runtimes:
            rt.wake_outbox()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        for rt in runtimes:
            await rt.stop()
    assert receiver.overlaps == []
    assert set(receiver.accepted) == set(ids)
    assert max(receiver.seen.values()) == 1  # no message was claimed twice
    async with gateway.sessions() as session:
        per_worker = dict(
            (await session.execute(select(DeliveryAttempt.worker, func.count()).group_by(DeliveryAttempt.worker))).all()
        )
    assert set(per_worker) == {"w0", "w1"}
    assert sum(per_worker.values()) == len(ids)


@pytest.mark.postgres
async def test_operators_list_inspect_replay_and_redeliver(gateway: Any, receiver: Any) -> None:
    platform_id = await gateway.receiver_platform(receiver)
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    ids = await gateway.enqueue_raw(platform_id, 3)
    receiver.status = 410
    runtime = Runtime(_worker_settings(gateway, {"worker.concurrency": 1}))  # deterministic: one at a time
    worker = delivery_worker(runtime)
    try:
        await worker.run_once()
        dead = await gateway.get("/v1/deliveries?status=dead", token)
        assert [d["id"] for d in dead] == [ids[0]]  # the 410; the others are held while the endpoint is disabled
        held = await gateway.get(f"/v1/deliveries?status=pending&platform_id={platform_id}", token)
        assert {d["id"] for d in held} == set(ids[1:])
        detail = await gateway.get(f"/v1/deliveries/{ids[0]}", token)
        assert detail["attempts"][0]["http_status"] == 410
        assert detail["attempts"][0]["outcome"] == "gone"
        refused = await gateway.client.post("/v1/deliveries/replay", json={}, headers=gateway.auth(token))
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"] == "platform_id"

        # The platform fixed its endpoint: replaying re-enables it and everything arrives.
        receiver.status = None
        replayed = await gateway.post("/v1/deliveries/replay", token, {"platform_id": platform_id}, expect=202)
        assert replayed == {"replayed": 1}
        await worker.run_once()
        assert set(receiver.accepted) == set(ids)

        again = await gateway.post(f"/v1/deliveries/{ids[0]}/redeliver", token, expect=202)
        assert again["status"] == "pending"
        await worker.run_once()
        assert receiver.accepted[ids[0]] == 2  # same webhook-id twice: the receiver's dedupe key
    finally:
        await worker.aclose()
        await runtime.stop()
    reader = await gateway.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    forbidden = await gateway.client.get("/v1/deliveries", headers=gateway.auth(reader))
    assert forbidden.status_code == 403
