"""The delivery worker: the loop that keeps every slot busy with due messages and stops cleanly.

Each claimed message goes through the stages of :mod:`~spotcheck.gateway.delivery.stages` (prepare the dispatch,
make the call) and its outcome is handed to the group commit (:mod:`~spotcheck.gateway.delivery.recorder`). The
outbox itself, whichever database holds it, is the :class:`~spotcheck.gateway.delivery.queue.OutboxQueue`.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Callable
from typing import Final

import structlog

from spotcheck.adapters import AdapterError, AnnouncementSink
from spotcheck.gateway.delivery.guards import CircuitBreaker, EndpointRateLimiter
from spotcheck.gateway.delivery.queue import ClaimedMessage, outbox_queue
from spotcheck.gateway.delivery.recorder import OutcomeRecorder, OutcomeWriter
from spotcheck.gateway.delivery.retry import RetryPolicy
from spotcheck.gateway.delivery.routing import Router
from spotcheck.gateway.delivery.stages import Deferred, make_call, prepare_dispatch
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.types import new_id

__all__ = ["DeliveryWorker"]

_log = structlog.get_logger("spotcheck.gateway.delivery.worker")
_IDLE_POLL_S: Final = 1.0
_ROUND_RETRY_S: Final = 1.0
_DRAIN_GRACE_S = 10.0  # how long stopping waits for deliveries in flight before cancelling them
_RECORD_LINGER_S: Final = 0.05  # how long a write of successes waits for more to share its transaction


class DeliveryWorker:
    """Delivers the outbox. Run :meth:`run` as a task (or ``spotcheck worker``); :meth:`run_once` for tests.

    Args:
        runtime: the process's engine, sessions, settings, master key and metrics.
        announcement_sink: where the ``announcement`` adapter publishes (the composition root passes the
            database-backed feed, ``spotcheck.gateway.public.announcement_sink``).
        worker_id: the name in leases, attempts and audit records (default ``host:pid:random``).
        rng: the retry jitter's randomness, pinned by tests.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        announcement_sink: AnnouncementSink,
        worker_id: str | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"
        self.queue = outbox_queue(runtime)
        self.router = Router(
            sessions=runtime.sessions,
            master_key=runtime.master_key,
            settings=settings,
            announcement_sink=announcement_sink,
        )
        self.breaker = CircuitBreaker.from_settings(settings)
        self.limiter = EndpointRateLimiter.from_settings(settings)
        self.writer = OutcomeWriter(
            sessions=runtime.sessions,
            queue=self.queue,
            retry=RetryPolicy.from_settings(settings, rng=rng),
            worker_id=self.worker_id,
            metrics=runtime.metrics,
            on_platform_disabled=self.router.forget,
        )
        # Successes are recorded while their slot serves the next message: their write may wait a little for
        # more outcomes to share it; a failure (awaited) or an idle worker ends the wait.
        self.recorder = OutcomeRecorder(self.writer, linger_s=_RECORD_LINGER_S, batch_size=settings.worker.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(settings.worker.concurrency)
        self._slot_freed = asyncio.Event()

    @property
    def delivered(self) -> int:
        """Messages this worker has marked delivered (each counted once, when its record committed)."""
        return self.writer.delivered

    async def preflight(self) -> None:
        """Check that every adapter the platforms and the undelivered messages name is installed.

        Raises:
            AdapterNotFoundError: one is missing ("not found: misspelled or not installed"), named with its users.
            AdapterLoadError: one is installed but cannot be imported.
        """
        await self.router.check_installed()

    # ---- the loop -------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or the task is cancelled); wakes at once on new work.

        Deliveries flow: as slots of ``worker_concurrency`` free up, due messages are claimed for them (a few ahead,
        waiting for a slot), so one slow endpoint or the tail of a batch never holds the others back. A slot is
        freed when a success is answered; its record joins the next group commit meanwhile.

        Raises:
            AdapterError: at start, an adapter in use is not installed (see :meth:`preflight`).
        """
        stop = stop or asyncio.Event()
        try:
            await self._preflight_until_checked(stop)
            async with self.queue.wakeups() as wakeup:
                _log.info("worker started", worker=self.worker_id, engine=self.runtime.engine.dialect.name)
                await self._deliver_until(stop, wakeup)
        finally:
            await self.drain()
            await self.aclose()

    async def _preflight_until_checked(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.preflight()
            except (asyncio.CancelledError, AdapterError):
                raise
            except Exception:  # noqa: BLE001 - the database is away: the check waits for it, the error does not
                _log.exception("checking the adapters failed; retrying shortly", worker=self.worker_id)
                await self._wait_for(stop, at_most=_ROUND_RETRY_S)
            else:
                return

    async def _deliver_until(self, stop: asyncio.Event, wakeup: asyncio.Event) -> None:
        while not stop.is_set():
            # Cleared before claiming: a commit or a finished delivery during the round sets them again, so no
            # wake-up is lost.
            wakeup.clear()
            self._slot_freed.clear()
            try:
                full = await self._top_up()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be restarting: log, back off, go on
                _log.exception("delivery round failed; retrying shortly", worker=self.worker_id)
                full = False
                await asyncio.sleep(_ROUND_RETRY_S)
            if full:
                # Every slot is busy and more may be due: claim again as soon as one frees up.
                await self._wait_for(stop, self._slot_freed, at_most=_IDLE_POLL_S)
                continue
            try:
                wait = await self.queue.next_due_in(at_most=_IDLE_POLL_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database is away: poll again shortly, never die
                wait = _IDLE_POLL_S
            # A finished delivery may have scheduled a prompt retry: look again then too.
            await self._wait_for(stop, wakeup, self._slot_freed, at_most=wait)

    async def _top_up(self) -> bool:
        """Claim due messages for the free slots and start them.

        Returns True when the slots are (nearly) all busy and more may be due, False when the outbox had fewer due
        messages than there was room for. Some messages beyond the slots are claimed ahead (see below).
        """
        # Claim once half the slots' worth is due for a top-up rather than for every single one: a claim is a
        # write, and one per delivery would cost more CPU than the deliveries themselves. As many again are claimed
        # ahead and wait for a slot, so a slot that frees starts its next message at once instead of waiting out
        # the claim's round trips: the claim runs beside the deliveries, never between them.
        threshold = max(1, min(self.settings.worker.batch, self.settings.worker.concurrency) // 2)
        room = self.settings.worker.concurrency + threshold
        while True:
            free = room - len(self._in_flight)
            if free < threshold and self._in_flight:
                return True
            limit = min(self.settings.worker.batch, free)
            claimed = await self.queue.claim(self.worker_id, limit, lease_s=self.settings.worker.lease_s)
            for item in claimed:
                task = asyncio.create_task(self._deliver_one(item))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if len(claimed) < limit:
                return False

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()
        if not self._in_flight:
            self.recorder.hurry()  # no outcome is coming to share the write: make these durable now
        if not task.cancelled():
            self._log_unrecorded(task.exception())

    def _recorded(self, written: asyncio.Future[None]) -> None:
        if not written.cancelled():
            self._log_unrecorded(written.exception())

    def _log_unrecorded(self, exc: BaseException | None) -> None:
        if exc is not None:
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

    async def run_once(self) -> int:
        """Claim one batch of due messages and deliver them concurrently; returns how many were claimed."""
        claimed = await self.queue.claim(
            self.worker_id, self.settings.worker.batch, lease_s=self.settings.worker.lease_s
        )
        if not claimed:
            return 0
        tasks = [asyncio.create_task(self._deliver_one(item)) for item in claimed]
        self._in_flight.update(tasks)
        for task in tasks:
            task.add_done_callback(self._in_flight.discard)
        await asyncio.gather(*tasks)
        await self.recorder.flush()  # successes are recorded after their slot is freed: wait for those too
        return len(claimed)

    # ---- one delivery, stage by stage -----------------------------------------------------------------------

    async def _deliver_one(self, item: ClaimedMessage) -> None:
        async with self._semaphore:
            prepared = await prepare_dispatch(item, breaker=self.breaker, router=self.router)
            if isinstance(prepared, Deferred):
                if prepared.held:
                    _log.warning("delivery held", message=item.id, reason=prepared.reason)
                await self.queue.put_back(item, self.worker_id, delay_s=prepared.delay_s, reason=prepared.reason)
                return
            attempt = await make_call(prepared, limiter=self.limiter)
            self.breaker.record(item.endpoint, attempt.outcome.status)
            failed = attempt.outcome.status != "delivered"
            written = self.recorder.submit(attempt, hurry=failed)
            if failed or self.recorder.backlog > self.settings.worker.concurrency:
                # A failure is recorded before its slot is freed, so a 410 disables the endpoint before the next
                # message is tried; and a store that falls behind holds the slots rather than piling outcomes up.
                await written
                return
        # A success is made durable by the next group commit while the slot already serves the next message: the
        # commit costs round trips, the slot would sit idle through them. Until the record commits the message
        # keeps its lease, so nobody claims it; should the record be lost, the lease lapses and the message goes
        # out again with the same webhook-id (at least once, as after a crash).
        written.add_done_callback(self._recorded)

    # ---- stopping -------------------------------------------------------------------------------------------

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
        await self.recorder.flush()

    async def aclose(self) -> None:
        """Write what is left, then close the adapters and the shared HTTP client."""
        await self.recorder.close()
        await self.router.aclose()
