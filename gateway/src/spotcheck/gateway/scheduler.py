"""What runs beside the API: the delivery worker and the periodic jobs (the deadline sweep, the log sequencer).

This is where the background pieces are wired together: the worker gets the database-backed announcement feed,
and the jobs get the calendar and the log's signer. ``spotcheck serve`` starts both with the app
(:func:`start_background`); ``spotcheck worker`` runs them until it is told to stop (:func:`run_background`).

Several processes may run the jobs against one PostgreSQL: each round of a job takes a transaction-scoped advisory
lock first, so one process does the work and the others skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.audit.sequencer import SEQUENCER_LOCK, LogCorruptedError, LogSigner, Sequencer
from spotcheck.gateway.deadlines.service import sweep_deadlines
from spotcheck.gateway.delivery.worker import DeliveryWorker
from spotcheck.gateway.public import announcement_sink
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = [
    "JOB_INTERVAL_S",
    "SEQUENCER_INTERVAL_S",
    "JobReport",
    "PeriodicJob",
    "Scheduler",
    "deadline_sweep_job",
    "delivery_worker",
    "log_sequencer_job",
    "maintenance_scheduler",
    "run_background",
    "start_background",
]

JOB_INTERVAL_S: Final = 60.0
"""How often the deadline sweep runs."""

SEQUENCER_INTERVAL_S: Final = 0.5
"""How often the sequencer integrates new leaves and signs: a leaf is in a signed checkpoint within a second."""

_log = structlog.get_logger("spotcheck.gateway.scheduler")
_SWEEP_LOCK: Final = 5150001

JobReport = Mapping[str, Any] | None
"""What a job round did, logged once its transaction committed; ``None`` when there is nothing to tell."""


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """A task run every ``every_s`` seconds in a transaction of its own, by one process at a time.

    Attributes:
        name: how logs call it.
        every_s: seconds between the starts of two rounds.
        lock_key: the PostgreSQL advisory lock that elects the one process running a round.
        run: the round's work, in the transaction it is given (the scheduler commits).
    """

    name: str
    every_s: float
    lock_key: int
    run: Callable[[AsyncSession], Awaitable[JobReport]]


async def _lead(session: AsyncSession, lock_key: int) -> bool:
    """Whether this process runs the round: always on SQLite (one process), by advisory lock on PostgreSQL."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key}))


class Scheduler:
    """Runs periodic jobs until stopped; a failing round is logged and the job tried again at its next turn."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        jobs: Sequence[PeriodicJob],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._jobs = tuple(jobs)
        self._clock = clock
        self._next_at = dict.fromkeys((job.name for job in self._jobs), 0.0)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run every job at start and then every ``every_s`` seconds, until ``stop`` is set or the task cancelled."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.run_due()
            wait = max(0.0, min(self._next_at.values(), default=self._clock() + JOB_INTERVAL_S) - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def run_due(self) -> list[str]:
        """Run one round of each job that is due; returns the names of those this process ran."""
        ran: list[str] = []
        for job in self._jobs:
            now = self._clock()
            if self._next_at[job.name] > now:
                continue
            self._next_at[job.name] = now + job.every_s
            try:
                async with self._sessions() as session, session.begin():
                    if not await _lead(session, job.lock_key):
                        continue  # another process runs this round
                    report = await job.run(session)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be restarting: the next turn tries again
                _log.exception("periodic job failed; retrying at its next turn", job=job.name)
                continue
            ran.append(job.name)
            if report:
                _log.info(job.name, **report)
        return ran


def deadline_sweep_job(calendar: WorkdayCalendar, *, every_s: float = JOB_INTERVAL_S) -> PeriodicJob:
    """Escalate overdue platform answers and make results final whose re-inspection window passed unused."""

    async def sweep(session: AsyncSession) -> JobReport:
        result = await sweep_deadlines(session, calendar)
        return result if any(result.values()) else None

    return PeriodicJob("deadline sweep", every_s, _SWEEP_LOCK, sweep)


def log_sequencer_job(settings: Settings, *, every_s: float = SEQUENCER_INTERVAL_S) -> PeriodicJob:
    """Integrate the audit records committed since the last round into the log and sign the new tree.

    One process at a time (the advisory lock of :data:`~spotcheck.gateway.audit.sequencer.SEQUENCER_LOCK`).
    """
    sequencer = Sequencer(LogSigner.for_settings(settings))

    async def integrate(session: AsyncSession) -> JobReport:
        try:
            head = await sequencer.integrate(session)
        except LogCorruptedError as exc:
            # Never sign over a tampered tree; `spotcheck audit verify` names the first bad leaf.
            _log.error("audit log broken: no checkpoint signed", error=str(exc))
            return None
        return None if head is None else {"tree_size": head.tree_size}

    return PeriodicJob("log checkpoint signed", every_s, SEQUENCER_LOCK, integrate)


def maintenance_scheduler(runtime: Runtime) -> Scheduler:
    """The deadline sweep and the log sequencer of ``runtime``'s database."""
    jobs = [deadline_sweep_job(runtime.calendar), log_sequencer_job(runtime.settings)]
    return Scheduler(runtime.sessions, jobs)


def delivery_worker(
    runtime: Runtime, *, worker_id: str | None = None, rng: Callable[[], float] = random.random
) -> DeliveryWorker:
    """A delivery worker that publishes announcements on the regulator's database-backed public feed."""
    return DeliveryWorker(runtime, announcement_sink=announcement_sink(runtime.sessions), worker_id=worker_id, rng=rng)


async def _checked_worker(runtime: Runtime, worker_id: str | None) -> DeliveryWorker:
    worker = delivery_worker(runtime, worker_id=worker_id)
    try:
        await worker.preflight()
    except BaseException:
        await worker.aclose()
        raise
    return worker


async def start_background(runtime: Runtime, *, worker_id: str | None = None) -> None:
    """Start the worker and the scheduler as ``runtime``'s background tasks, stopped with it.

    Raises:
        AdapterError: an adapter that platforms or undelivered messages name is not installed; nothing started.
    """
    worker = await _checked_worker(runtime, worker_id)
    scheduler = maintenance_scheduler(runtime)
    runtime.add_background(asyncio.create_task(worker.run(), name="spotcheck-worker"))
    runtime.add_background(asyncio.create_task(scheduler.run(), name="spotcheck-scheduler"))


async def run_background(runtime: Runtime, stop: asyncio.Event, *, worker_id: str | None = None) -> None:
    """Run the worker and the scheduler until ``stop`` is set; the worker drains its deliveries before returning.

    Raises:
        AdapterError: an adapter that platforms or undelivered messages name is not installed; nothing started.
    """
    worker = await _checked_worker(runtime, worker_id)
    scheduler = maintenance_scheduler(runtime)
    jobs = asyncio.create_task(scheduler.run(stop), name="spotcheck-scheduler")
    try:
        await worker.run(stop)
    finally:
        jobs.cancel()
        await asyncio.gather(jobs, return_exceptions=True)
