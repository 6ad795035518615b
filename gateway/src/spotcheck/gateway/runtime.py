"""What one gateway process holds while it runs: engine, sessions, calendar, metrics, worker wake-ups."""

from __future__ import annotations

import asyncio
import gc

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import spotcheck.gateway.store.models_console  # registers the 0005 tables in the metadata
import spotcheck.gateway.store.models_documents  # registers the 0006 tables in the metadata
import spotcheck.gateway.store.models_duties  # registers the 0007 tables in the metadata
import spotcheck.gateway.store.models_log  # registers the 0004 tables in the metadata
import spotcheck.gateway.store.models_plans  # registers the 0003 tables in the metadata
import spotcheck.gateway.store.models_public  # registers the 0002 tables in the metadata
import spotcheck.gateway.store.models_sanctions  # noqa: F401 - registers the 0008 tables in the metadata
from spotcheck.gateway.access import MasterKey
from spotcheck.gateway.observability import Metrics
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store import migrations
from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Deadline, OutboundMessage
from spotcheck.gateway.workdays import WorkdayCalendar
from spotcheck.sdk import Webhook

__all__ = ["Runtime", "freeze_startup_heap"]

_log = structlog.get_logger("spotcheck.gateway.runtime")


class Runtime:
    """The shared state of one gateway process, started and stopped with the app (or shared by tests)."""

    def __init__(self, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.engine: AsyncEngine = create_engine(settings.store.url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.calendar = WorkdayCalendar(overlay_path=settings.deadlines.calendar_overlay)
        self.master_key = MasterKey.load(settings.store.data_dir)
        # Verifiers per (platform, key ids): building Ed25519/HMAC key objects once keeps the intake fast.
        self.verifier_cache: dict[tuple[str, tuple[str, ...]], Webhook] = {}
        # Each platform's current verifier for a moment (monotonic deadline), instead of two queries per reply.
        self.inbound_verifiers: dict[str, tuple[float, Webhook]] = {}
        # Bumped by every in-process key change, so a look-up that raced with it does not cache the old keys.
        self.inbound_generation: dict[str, int] = {}
        # Set whenever the API commits outbound messages, so an in-process worker delivers at once.
        self.outbox_wakeup = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Migrate an empty or outdated database to the current schema."""
        current = await migrations.current_revision(self.engine)
        head = migrations.head_revision()
        if current != head:
            _log.info("migrating database", current=current, head=head)
            await migrations.upgrade(self.engine)

    def add_background(self, task: asyncio.Task[None]) -> None:
        """Own a background task (the in-process worker); it is cancelled on stop."""
        self._background.append(task)

    async def stop(self) -> None:
        """Cancel background tasks and close every database connection."""
        for task in self._background:
            task.cancel()
        for task in self._background:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - shutting down: log and go on closing the rest
                _log.exception("background task failed while stopping")
        self._background.clear()
        await self.engine.dispose()

    def forget_inbound_keys(self, platform_id: str) -> None:
        """Drop a platform's cached verifier at once (its inbound keys changed in this process)."""
        self.inbound_generation[platform_id] = self.inbound_generation.get(platform_id, 0) + 1
        self.inbound_verifiers.pop(platform_id, None)
        self.verifier_cache = {k: v for k, v in self.verifier_cache.items() if k[0] != platform_id}

    def wake_outbox(self) -> None:
        """Tell an in-process worker that new outbound messages were committed."""
        self.outbox_wakeup.set()

    async def refresh_gauges(self) -> None:
        """Recompute the notice and deadline gauges from the database (called on each /metrics scrape)."""
        async with self.sessions() as session:
            notices = await session.execute(
                select(OutboundMessage.message_type, OutboundMessage.status, func.count()).group_by(
                    OutboundMessage.message_type, OutboundMessage.status
                )
            )
            self.metrics.notices.clear()
            for message_type, status, count in notices:
                self.metrics.notices.labels(message_type, status).set(count)
            deadlines = await session.execute(
                select(Deadline.kind, Deadline.status, func.count()).group_by(Deadline.kind, Deadline.status)
            )
            self.metrics.deadlines.clear()
            for kind, status, count in deadlines:
                self.metrics.deadlines.labels(kind, status).set(count)


def freeze_startup_heap() -> None:
    """Take what a server process built to start (modules, routes, schemas, pools) out of the cyclic collector's sight.

    A long-lived process holds hundreds of thousands of such objects, and every full collection walked them all:
    under the intake's load that was a pause of 100 ms and more every few seconds, on the event loop, and the p99
    of replies was five times their median. Frozen (:func:`gc.freeze`), they are never scanned again; only what
    requests create is. The price: a frozen object that later becomes garbage inside a reference cycle (a pooled
    connection replaced, a cache entry dropped) is never collected; that is bounded by what existed at start-up.
    Called once a server or worker process has started, never by tests' short-lived apps, whose frozen cycles would
    never be freed.
    """
    gc.collect()
    gc.freeze()
