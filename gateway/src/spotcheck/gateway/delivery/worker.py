"""The delivery worker.

It claims due outbound messages under a lease, delivers them through adapters, records every attempt, and
retries, throttles, dead-letters or disables endpoints as the outcome says.

At least once: a message is marked delivered only after a 2xx (or the adapter's equivalent); a worker that dies
mid-delivery leaves a lease that expires, after which any worker takes the message over. The ``webhook-id`` is
the message's primary key, so every attempt carries the same id and receivers deduplicate.

On PostgreSQL several workers share the outbox with ``FOR UPDATE SKIP LOCKED`` and wake on ``LISTEN/NOTIFY``;
on SQLite one worker wakes from the in-process event the API sets after each commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import structlog
from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.adapters import (
    Adapter,
    AdapterConfigError,
    AdapterContext,
    AdapterError,
    AnnouncementSink,
    DeliveryOutcome,
    InMemoryAnnouncementSink,
    OutgoingMessage,
    load_adapter,
    make_http_client,
)
from spotcheck.gateway.audit.chain import AuditEntry, append_audit_many
from spotcheck.gateway.delivery.outbox import NOTIFY_CHANNEL
from spotcheck.gateway.delivery.routing import open_adapter_config
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    DeliveryAttempt,
    OperationalEvent,
    OutboundMessage,
    Platform,
    PlatformKey,
)
from spotcheck.gateway.store.types import new_id, utcnow

__all__ = ["NOTIFY_CHANNEL", "DeliveryWorker", "next_retry_delay", "smtp_config_from_url"]


_log = structlog.get_logger("spotcheck.gateway.delivery.worker")
_MAX_RETRY_AFTER_S = 86_400.0
_IDLE_POLL_S = 1.0
_SWEEP_EVERY_S = 60.0
_ROUTE_TTL_S = 2.0  # a key rotation or a disable by another worker is seen within this
_ERROR_CHARS = 500
_RECORD_RETRY_DELAYS_S = (0.2, 1.0)  # before the per-outcome fallback of the group commit
_DRAIN_GRACE_S = 10.0  # how long stopping waits for deliveries in flight before cancelling them


def next_retry_delay(
    attempts_made: int, schedule: tuple[float, ...], jitter: float, *, rng: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted (dead letter).

    ``attempts_made`` counts attempts already made (1 after the first). The first attempt is immediate; the
    schedule lists the waits before the second, third, … attempts, each spread by ±``jitter``.
    """
    index = attempts_made - 1
    if index >= len(schedule):
        return None
    base = schedule[index]
    return max(0.0, base * (1 + jitter * (2 * rng() - 1)))


def smtp_config_from_url(url: str) -> dict[str, Any]:
    """The smtp adapter's configuration from ``smtp://user:password@host:port?security=starttls&from=addr``."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("SPOTCHECK_SMTP_URL: expected smtp://[user:password@]host[:port]?from=address")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    sender = query.get("from")
    if not sender:
        raise ValueError("SPOTCHECK_SMTP_URL: the from= query parameter (sender address) is required")
    config: dict[str, Any] = {
        "host": parts.hostname,
        "from": sender,
        "security": query.get("security", "tls" if parts.scheme == "smtps" else "starttls"),
    }
    if parts.port:
        config["port"] = parts.port
    if parts.username:
        config["username"] = unquote(parts.username)
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


@dataclass
class _Circuit:
    """Consecutive-failure breaker for one endpoint; open means: do not call it until ``open_until``."""

    failures: int = 0
    open_until: float = 0.0
    cooldown: float = 0.0


@dataclass
class _Bucket:
    """Token bucket limiting deliveries per second to one endpoint."""

    rate: float
    tokens: float = 1.0
    updated: float = field(default_factory=time.monotonic)

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


@dataclass(frozen=True)
class _PendingRecord:
    """An outcome waiting for the group commit; ``written`` resolves once it is durable."""

    item: _Claimed
    outcome: DeliveryOutcome
    started: datetime
    written: asyncio.Future[None]


@dataclass(frozen=True)
class _Claimed:
    id: str
    case_id: str | None
    message_type: str
    recipient_kind: str
    recipient_id: str
    recipient_name: str
    adapter: str
    destination: dict[str, Any]
    body: bytes
    timestamp: int
    attempt_count: int


class DeliveryWorker:
    """Delivers the outbox. Run :meth:`run` as a task (or ``spotcheck worker``); :meth:`run_once` for tests."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str | None = None,
        announcement_sink: AnnouncementSink | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"
        self._rng = rng
        self._adapters: dict[tuple[Any, ...], Adapter] = {}
        # Platform routes (endpoint, keys) for a moment, instead of two queries per message under load.
        self._routes: dict[str, tuple[float, Adapter]] = {}
        self._circuits: dict[str, _Circuit] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._http = make_http_client(
            transport=self.settings.http_transport,  # type: ignore[arg-type]
            allow_private=self.settings.allow_private_endpoints,
        )
        self._announcements = announcement_sink or _default_announcement_sink(runtime)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(self.settings.worker_concurrency)
        self._last_sweep = 0.0
        self._slot_freed = asyncio.Event()
        self._records: list[_PendingRecord] = []
        self._recorder: asyncio.Task[None] | None = None
        self.delivered = 0

    @property
    def _postgres(self) -> bool:
        return self.runtime.engine.dialect.name == "postgresql"

    # ---- the loop -------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or the task is cancelled); wakes at once on new work.

        Deliveries flow: whenever a slot of ``worker_concurrency`` frees up, due messages are claimed for the free
        slots, so one slow endpoint or the tail of a batch never holds the others back.
        """
        stop = stop or asyncio.Event()
        listener = asyncio.create_task(self._listen()) if self._postgres else None
        _log.info("worker started", worker=self.worker_id, engine=self.runtime.engine.dialect.name)
        try:
            while not stop.is_set():
                # Cleared before claiming: a commit or a finished delivery during the round sets them again, so
                # no wake-up is lost.
                self.runtime.outbox_wakeup.clear()
                self._slot_freed.clear()
                try:
                    full = await self._top_up()
                    await self._maybe_sweep()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the database may be restarting: log, back off, go on
                    _log.exception("delivery round failed; retrying shortly", worker=self.worker_id)
                    full = False
                    await asyncio.sleep(1.0)
                if full:
                    # Every slot is busy and more may be due: claim again as soon as one frees up.
                    await self._wait_for(stop, self._slot_freed, at_most=_IDLE_POLL_S)
                    continue
                try:
                    wait = await self._idle_wait()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the database is away: poll again shortly, never die
                    wait = _IDLE_POLL_S
                # A finished delivery may have scheduled a prompt retry: look again then too.
                await self._wait_for(stop, self.runtime.outbox_wakeup, self._slot_freed, at_most=wait)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            await self.drain()
            await self.aclose()

    async def _top_up(self) -> bool:
        """Claim due messages for the free slots and start them.

        Returns True when the slots are (nearly) all busy and more may be due, False when the outbox had fewer due
        messages than there was room for.
        """
        # Claim once a quarter of the slots is free rather than for every single one: a claim is a write
        # transaction, and one per delivery would cost more than the wait it saves.
        threshold = max(1, min(self.settings.worker_batch, self.settings.worker_concurrency) // 4)
        while True:
            free = self.settings.worker_concurrency - len(self._in_flight)
            if free < threshold and self._in_flight:
                return True
            limit = min(self.settings.worker_batch, free)
            claimed = await self._claim(limit)
            for item in claimed:
                task = asyncio.create_task(self._deliver_one(item))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if len(claimed) < limit:
                return False

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The outcome could not be recorded (the store is away): the lease lapses and the message is retried.
            _log.warning("delivery not recorded", worker=self.worker_id, error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    async def _wait_for(stop: asyncio.Event, *events: asyncio.Event, at_most: float) -> None:
        waiters = [asyncio.create_task(event.wait()) for event in (stop, *events)]
        try:
            await asyncio.wait(waiters, timeout=at_most, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _idle_wait(self) -> float:
        """Sleep until the next scheduled retry, the poll interval, or a wake-up, whichever is first."""
        async with self.runtime.sessions() as session:
            due = await session.scalar(
                select(func.min(OutboundMessage.next_attempt_at)).where(OutboundMessage.status == "pending")
            )
        if due is None:
            return _IDLE_POLL_S
        return min(_IDLE_POLL_S, max(0.0, (due - utcnow()).total_seconds()))

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL and turn each NOTIFY into a wake-up; reconnects after failures."""
        while True:
            try:
                async with self.runtime.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None  # noqa: S101 - asyncpg connection behind the adapter

                    def _on_notify(*_: object) -> None:
                        self.runtime.wake_outbox()

                    closed = asyncio.Event()
                    driver.add_termination_listener(lambda _conn, done=closed: done.set())
                    await driver.add_listener(NOTIFY_CHANNEL, _on_notify)
                    try:
                        await closed.wait()
                    finally:
                        with contextlib.suppress(Exception):
                            await driver.remove_listener(NOTIFY_CHANNEL, _on_notify)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep listening across database restarts; polling covers the gap
                _log.warning("LISTEN connection lost; reconnecting", worker=self.worker_id)
                await asyncio.sleep(1.0)

    async def _maybe_sweep(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        from spotcheck.gateway.audit.checkpoints import (  # noqa: PLC0415 - avoids an import cycle
            ChainBrokenError,
            checkpoint_if_due,
            signing_key_for,
        )
        from spotcheck.gateway.deadlines.service import sweep_deadlines  # noqa: PLC0415 - avoids an import cycle

        async with self.runtime.sessions() as session, session.begin():
            if self._postgres:
                got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(5150001)"))
                if not got:
                    return
            result = await sweep_deadlines(session, self.runtime.calendar)
            try:
                checkpoint = await checkpoint_if_due(
                    session,
                    signing_key_for(self.settings),
                    interval_s=self.settings.checkpoint_interval_s,
                    actor=f"worker:{self.worker_id}",
                )
            except ChainBrokenError as exc:
                # Never sign over a tampered chain; `spotcheck audit verify` names the record.
                _log.error("audit chain broken: no checkpoint signed", error=str(exc))
                checkpoint = None
        if any(result.values()):
            _log.info("deadline sweep", **result)
        if checkpoint is not None:
            _log.info("audit checkpoint signed", seq=checkpoint.seq, head=checkpoint.head_hash[:16])

    async def drain(self, *, grace_s: float | None = None) -> None:
        """Wait for deliveries in flight (cancelling those still running after ``grace_s``), then their records.

        A cancelled delivery keeps its lease and is delivered again once the lease lapses; an outcome already
        handed to the group commit is still written, and a second cancellation does not interrupt that write.
        """
        if self._in_flight:
            grace = _DRAIN_GRACE_S if grace_s is None else grace_s
            _done, late = await asyncio.wait(set(self._in_flight), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._recorder is not None:
            await asyncio.gather(asyncio.shield(self._recorder), return_exceptions=True)

    async def aclose(self) -> None:
        """Close adapters and the shared HTTP client."""
        for adapter in self._adapters.values():
            with contextlib.suppress(Exception):
                await adapter.aclose()
        self._adapters.clear()
        await self._http.aclose()

    # ---- claiming -------------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due messages and deliver them concurrently; returns how many were claimed."""
        claimed = await self._claim(self.settings.worker_batch)
        if not claimed:
            return 0
        tasks = [asyncio.create_task(self._deliver_one(item)) for item in claimed]
        self._in_flight.update(tasks)
        for task in tasks:
            task.add_done_callback(self._in_flight.discard)
        await asyncio.gather(*tasks)
        return len(claimed)

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.worker_lease_s)
        due = or_(
            and_(OutboundMessage.status == "pending", OutboundMessage.next_attempt_at <= now),
            and_(OutboundMessage.status == "delivering", OutboundMessage.lease_expires_at < now),
        )
        candidates = (
            select(OutboundMessage.id)
            .where(due)
            .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)  # oldest first; ids are time-ordered
            .limit(limit)
        )
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        statement = (
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(candidates.scalar_subquery()))
            .values(status="delivering", lease_owner=self.worker_id, lease_expires_at=lease_until)
            .returning(
                OutboundMessage.id,
                OutboundMessage.case_id,
                OutboundMessage.message_type,
                OutboundMessage.recipient_kind,
                OutboundMessage.recipient_id,
                OutboundMessage.recipient_name,
                OutboundMessage.adapter,
                OutboundMessage.destination,
                OutboundMessage.body,
                OutboundMessage.timestamp,
                OutboundMessage.attempt_count,
            )
            .execution_options(synchronize_session=False)
        )
        async with self.runtime.sessions() as session, session.begin():
            rows = (await session.execute(statement)).all()
        # RETURNING does not keep the subquery's order; deliver oldest first within the batch.
        return sorted((_Claimed(*row) for row in rows), key=lambda c: c.id)

    # ---- delivering -----------------------------------------------------------------------------------------

    async def _deliver_one(self, item: _Claimed) -> None:
        endpoint = f"{item.adapter}:{item.recipient_kind}:{item.recipient_id}"
        circuit = self._circuits.setdefault(endpoint, _Circuit())
        async with self._semaphore:
            if circuit.open_until > time.monotonic():
                # Do not hammer a dead endpoint: put the message back for when the circuit half-opens.
                await self._reschedule(item, circuit.open_until - time.monotonic(), "circuit open", count_attempt=False)
                return
            try:
                adapter = await self._adapter_for(item)
            except _Unroutable as exc:
                await self._hold(item, str(exc))
                return
            bucket = self._buckets.setdefault(endpoint, _Bucket(rate=self.settings.endpoint_rate_per_s))
            await bucket.acquire()
            message = OutgoingMessage(
                message_id=item.id,
                message_type=item.message_type,
                body=item.body,
                timestamp=item.timestamp,
                case_id=item.case_id or "",
                attempt=item.attempt_count + 1,
                recipient_name=item.recipient_name,
            )
            started = utcnow()
            try:
                outcome = await adapter.deliver(message)
            except Exception as exc:  # noqa: BLE001 - an adapter bug must not kill the worker; count it as a retry
                outcome = DeliveryOutcome(status="retry", error=f"adapter raised {type(exc).__name__}")
            self._update_circuit(circuit, outcome)
            # Recorded before the slot is freed, so a 410 disables the endpoint before the next message is tried.
            await self._record(item, outcome, started)

    def _update_circuit(self, circuit: _Circuit, outcome: DeliveryOutcome) -> None:
        if outcome.status in {"delivered", "rejected"}:
            circuit.failures = 0
            circuit.cooldown = 0.0
            return
        circuit.failures += 1
        if circuit.failures >= self.settings.circuit_failures:
            circuit.cooldown = min(3600.0, (circuit.cooldown * 2) or self.settings.circuit_cooldown_s)
            circuit.open_until = time.monotonic() + circuit.cooldown
            circuit.failures = 0

    async def _record(self, item: _Claimed, outcome: DeliveryOutcome, started: datetime) -> None:
        """Make the outcome durable; returns once it is committed.

        Group commit: outcomes that finish while a write is under way wait for the next one and share its
        transaction, so a busy worker pays one commit, one chain-head look-up and one insert per batch instead
        of per message (each round trip to the store costs far more than the work itself).
        """
        pending = _PendingRecord(item, outcome, started, asyncio.get_running_loop().create_future())
        self._records.append(pending)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_pending(), name="spotcheck-worker-records")
        await pending.written

    async def _write_pending(self) -> None:
        while self._records:
            batch, self._records = self._records, []
            try:
                await self._write_batch(batch)
            except BaseException as exc:
                for pending in batch:
                    if not pending.written.done():
                        pending.written.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if not isinstance(exc, Exception):
                    raise

    async def _write_batch(self, batch: list[_PendingRecord]) -> None:
        """Write a batch, retrying what failed: the outcomes are still here and the transaction rolled back.

        After the retries each outcome is tried in a transaction of its own, so one bad record (or a brief
        outage) costs at most its own message a redelivery after its lease, never the whole batch's.
        """
        for delay in _RECORD_RETRY_DELAYS_S:
            try:
                await self._write_records(batch)
            except Exception:  # noqa: BLE001 - the store may be restarting or busy: back off and try again
                _log.warning("recording outcomes failed; retrying", worker=self.worker_id, outcomes=len(batch))
                await asyncio.sleep(delay)
            else:
                for pending in batch:
                    if not pending.written.done():
                        pending.written.set_result(None)
                return
        for pending in batch:
            try:
                await self._write_records([pending])
            except Exception as exc:  # noqa: BLE001 - left to the lease; the waiter logs it
                if not pending.written.done():
                    pending.written.set_exception(exc)
            else:
                if not pending.written.done():
                    pending.written.set_result(None)

    async def _write_records(self, batch: list[_PendingRecord]) -> None:
        now = utcnow()
        audit: list[AuditEntry] = []
        newly_delivered = 0
        async with self.runtime.sessions() as session, session.begin():
            # A plain bulk insert: one round trip for the batch (the ORM would insert row by row for the ids).
            await session.execute(
                insert(DeliveryAttempt),
                [
                    {
                        "message_id": p.item.id,
                        "attempt": p.item.attempt_count + 1,
                        "worker": self.worker_id,
                        "started_at": p.started,
                        "latency_ms": round(p.outcome.latency_ms),
                        "outcome": p.outcome.status,
                        "http_status": p.outcome.http_status,
                        "response_excerpt": p.outcome.response_excerpt or None,
                        "error": (p.outcome.error or "")[:_ERROR_CHARS] or None,
                    }
                    for p in batch
                ],
            )
            delivered = {p.item.id: p for p in batch if p.outcome.status == "delivered"}
            if delivered:
                # A success counts even if our lease lapsed meanwhile; only never undo a delivered message.
                updated = await session.scalars(
                    update(OutboundMessage)
                    .where(OutboundMessage.id.in_(delivered), OutboundMessage.status != "delivered")
                    .values(
                        status="delivered",
                        delivered_at=now,
                        attempt_count=OutboundMessage.attempt_count + 1,
                        last_status="delivered",
                        last_error=None,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    .returning(OutboundMessage.id)
                    .execution_options(synchronize_session=False)
                )
                for message_id in sorted(updated.all()):
                    outcome = delivered[message_id].outcome
                    audit.append(
                        AuditEntry(
                            f"worker:{self.worker_id}",
                            "message.delivered",
                            message_id,
                            {
                                "attempt": delivered[message_id].item.attempt_count + 1,
                                "http": outcome.http_status,
                                "ref": outcome.remote_reference,
                            },
                        )
                    )
                    newly_delivered += 1
            for pending in batch:
                if pending.outcome.status != "delivered":
                    await self._record_failure(session, pending, now, audit)
            if audit:
                await append_audit_many(session, audit)
        # Counted once committed: a batch that is retried must not count twice.
        self.delivered += newly_delivered
        for pending in batch:
            self.runtime.metrics.deliveries.labels(pending.outcome.status).inc()

    async def _record_failure(
        self, session: AsyncSession, pending: _PendingRecord, now: datetime, audit: list[AuditEntry]
    ) -> None:
        """Schedule the retry, or dead-letter (and maybe disable the endpoint), for one failed attempt."""
        item, outcome = pending.item, pending.outcome
        attempts = item.attempt_count + 1
        values: dict[str, Any] = {
            "attempt_count": attempts,
            "last_status": outcome.status,
            "last_error": (outcome.error or "")[:_ERROR_CHARS] or None,
            "lease_owner": None,
            "lease_expires_at": None,
        }
        events: list[tuple[str, dict[str, Any]]] = []
        if outcome.status in {"gone", "rejected"}:
            values.update(status="dead")
            events.append((f"delivery.{outcome.status}", {"error": values["last_error"], "http": outcome.http_status}))
        else:
            delay = next_retry_delay(attempts, self.settings.retry_schedule, self.settings.retry_jitter, rng=self._rng)
            if outcome.status == "throttled" and outcome.retry_after is not None and delay is not None:
                delay = max(delay, min(outcome.retry_after, _MAX_RETRY_AFTER_S))
            if delay is None:
                values.update(status="dead")
                events.append(("delivery.exhausted", {"attempts": attempts, "error": values["last_error"]}))
            else:
                values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
        result = await session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == item.id,
                OutboundMessage.status == "delivering",
                OutboundMessage.lease_owner == self.worker_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return  # the lease lapsed and another worker owns the message now
        for kind, detail in events:
            audit.append(self._event(session, item, kind, detail))
        if outcome.status == "gone" and item.recipient_kind == "platform":
            audit.extend(await self._disable_platform(session, item, outcome))

    def _event(self, session: AsyncSession, item: _Claimed, kind: str, detail: dict[str, Any]) -> AuditEntry:
        session.add(
            OperationalEvent(
                id=new_id("evt"),
                kind=kind,
                case_id=item.case_id,
                platform_id=item.recipient_id if item.recipient_kind == "platform" else None,
                detail={"message": item.id, "type": item.message_type, **detail},
            )
        )
        return AuditEntry(f"worker:{self.worker_id}", kind, item.id, detail)

    async def _disable_platform(
        self, session: AsyncSession, item: _Claimed, outcome: DeliveryOutcome
    ) -> list[AuditEntry]:
        platform = await session.get(Platform, item.recipient_id)
        if platform is None or platform.disabled_at is not None:
            return []
        self._routes.pop(platform.id, None)
        platform.disabled_at = utcnow()
        platform.disabled_reason = f"endpoint answered {outcome.http_status or 'gone'}: {outcome.error or ''}"[:500]
        return [self._event(session, item, "endpoint.disabled", {"reason": platform.disabled_reason})]

    async def _reschedule(self, item: _Claimed, delay: float, reason: str, *, count_attempt: bool) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == item.id, OutboundMessage.lease_owner == self.worker_id)
                .values(
                    status="pending",
                    next_attempt_at=utcnow() + timedelta(seconds=max(0.0, delay)),
                    lease_owner=None,
                    lease_expires_at=None,
                    last_error=reason,
                    attempt_count=item.attempt_count + (1 if count_attempt else 0),
                )
                .execution_options(synchronize_session=False)
            )

    async def _hold(self, item: _Claimed, reason: str) -> None:
        """A message that cannot be routed now (disabled platform, no SMTP configured) waits; it is never dropped."""
        _log.warning("delivery held", message=item.id, reason=reason)
        await self._reschedule(item, 300.0, reason, count_attempt=False)

    # ---- adapters -------------------------------------------------------------------------------------------

    async def _adapter_for(self, item: _Claimed) -> Adapter:
        if item.adapter == "smtp":
            if not self.settings.smtp_url:
                raise _Unroutable("e-mail notice waiting: SPOTCHECK_SMTP_URL is not configured")
            config = {**smtp_config_from_url(self.settings.smtp_url), "to": [item.destination["to"]]}
            key: tuple[Any, ...] = ("smtp", item.destination["to"])
            return self._cached(key, "smtp", config, AdapterContext())
        if item.adapter == "announcement":
            config = {"reason": item.destination.get("reason", "经营者地址不详等原因")}
            return self._cached(
                ("announcement", config["reason"]),
                "announcement",
                config,
                AdapterContext(announcement_sink=self._announcements),
            )
        if item.recipient_kind != "platform":
            raise _Unroutable(f"no route for {item.recipient_kind} through {item.adapter}")
        route = self._routes.get(item.recipient_id)
        if route is not None and route[0] > time.monotonic():
            return route[1]
        async with self.runtime.sessions() as session:
            platform = await session.get(Platform, item.recipient_id)
            if platform is None:
                raise _Unroutable(f"platform {item.recipient_id} is not registered")
            if platform.disabled_at is not None:
                raise _Unroutable(f"platform {platform.id} endpoint is disabled: {platform.disabled_reason}")
            now = utcnow()
            keys = (
                await session.scalars(
                    select(PlatformKey)
                    .where(PlatformKey.platform_id == platform.id, PlatformKey.direction == "outbound")
                    .order_by(PlatformKey.created_at.desc())
                )
            ).all()
        valid = [k for k in keys if k.valid_until is None or k.valid_until > now]
        secrets = tuple(
            self.runtime.master_key.decrypt(k.secret_ciphertext, context=k.id) for k in valid if k.secret_ciphertext
        )
        cache_key = ("platform", platform.id, platform.adapter, tuple(k.id for k in valid))
        context = AdapterContext(
            http_client=self._http,
            signing_keys=secrets,
            allow_private_targets=self.settings.allow_private_endpoints,
        )
        config = open_adapter_config(platform.adapter_config, self.runtime.master_key, platform.id)
        adapter = self._cached(cache_key, platform.adapter, config, context)
        self._routes[platform.id] = (time.monotonic() + _ROUTE_TTL_S, adapter)
        return adapter

    def _cached(self, key: tuple[Any, ...], name: str, config: dict[str, Any], context: AdapterContext) -> Adapter:
        adapter = self._adapters.get(key)
        if adapter is None:
            try:
                adapter = load_adapter(name)(config, context=context)
            except (AdapterConfigError, AdapterError) as exc:
                raise _Unroutable(f"adapter {name!r} cannot be built: {exc}") from None
            self._adapters[key] = adapter
        return adapter


class _Unroutable(Exception):  # noqa: N818 - internal signal, not an error surfaced to users
    """The message cannot be delivered right now for a reason an operator can fix."""


def _default_announcement_sink(runtime: Runtime) -> AnnouncementSink:
    try:
        factory = importlib.import_module("spotcheck.gateway.public").announcement_sink
    except (ImportError, AttributeError):
        return InMemoryAnnouncementSink()
    sink: AnnouncementSink = factory(runtime.sessions)
    return sink
