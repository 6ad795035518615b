"""The outbox as a queue: leased claims, settling attempts, the idle wait and wake-ups, behind one interface.

At least once: a claim leases a message to one worker; a worker that dies mid-delivery leaves a lease that
expires, after which any worker claims the message again. The ``webhook-id`` is the message's primary key, so
every attempt carries the same id and receivers deduplicate.

Nothing outside this module asks which database it has: :func:`outbox_queue` picks the implementation once from
the engine. On PostgreSQL several workers share the outbox (``FOR UPDATE SKIP LOCKED``) and every one of them is
woken at commit (``LISTEN/NOTIFY``); on SQLite one worker wakes from the in-process event the API sets after
each commit (``Runtime.wake_outbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, Protocol, cast

import structlog
from sqlalchemy import (
    CursorResult,
    Integer,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    func,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spotcheck.adapters import DeliveryStatus
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.gateway.store.statuses import MessageStatus
from spotcheck.gateway.store.types import utcnow

__all__ = [
    "NOTIFY_CHANNEL",
    "ClaimedMessage",
    "OutboxQueue",
    "PostgresOutboxQueue",
    "SqliteOutboxQueue",
    "notify_committed",
    "outbox_queue",
]

NOTIFY_CHANNEL: Final = "spotcheck_outbox"
"""PostgreSQL channel notified, transactionally, when outbound messages are committed."""

_log = structlog.get_logger("spotcheck.gateway.delivery.queue")
_RELISTEN_AFTER_S: Final = 1.0
# The Core table: claims and settlements are single statements on known ids, with no ORM bookkeeping to pay for.
_OUTBOX = cast("Table", OutboundMessage.__table__)
_CLAIMED_COLUMNS: Final = tuple(
    _OUTBOX.c[name]
    for name in (
        "id",
        "case_id",
        "message_type",
        "recipient_kind",
        "recipient_id",
        "recipient_name",
        "adapter",
        "destination",
        "body",
        "timestamp",
        "attempt_count",
    )
)


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """An outbound message leased to one worker: what it takes to deliver it and to settle the attempt."""

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

    @property
    def endpoint(self) -> str:
        """Where the message goes, as the guards count it: one circuit and one rate limit per endpoint."""
        return f"{self.adapter}:{self.recipient_kind}:{self.recipient_id}"


class OutboxQueue(Protocol):
    """The outbox seen by the delivery worker, whichever database holds it.

    Methods that take a ``session`` work in the caller's transaction (the recorder's group commit); the others
    run a transaction of their own.
    """

    async def claim(self, owner: str, limit: int, *, lease_s: float) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages (pending and due, or leased by anyone past expiry), oldest first."""
        ...

    async def complete(self, session: AsyncSession, message_ids: Collection[str]) -> list[str]:
        """Mark messages delivered, even where the lease lapsed meanwhile; returns those not delivered before."""
        ...

    async def retry_later(
        self,
        session: AsyncSession,
        item: ClaimedMessage,
        owner: str,
        *,
        delay_s: float,
        status: DeliveryStatus,
        error: str | None,
    ) -> bool:
        """Count the attempt and schedule the next; False when ``owner`` no longer holds the lease."""
        ...

    async def dead_letter(
        self, session: AsyncSession, item: ClaimedMessage, owner: str, *, status: DeliveryStatus, error: str | None
    ) -> bool:
        """Count the attempt and give the message up; False when ``owner`` no longer holds the lease."""
        ...

    async def put_back(self, item: ClaimedMessage, owner: str, *, delay_s: float, reason: str) -> None:
        """Return a message unattempted (held, or its endpoint's circuit is open), due again after ``delay_s``."""
        ...

    async def next_due_in(self, *, at_most: float) -> float:
        """Seconds until the earliest pending message is due, never more than ``at_most``."""
        ...

    def wakeups(self) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """While the block runs, the yielded event is set whenever new messages may have been committed."""
        ...

    async def notify_committed(self, session: AsyncSession) -> None:
        """In the caller's transaction: wake the workers once (and only if) it commits."""
        ...


class _SqlOutboxQueue:
    """What both databases share: the SQL of claiming and settling. Subclasses say how to lock and to wake."""

    dialect: ClassVar[str]

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], wakeup: asyncio.Event) -> None:
        self._engine = engine
        self._sessions = sessions
        self._wakeup = wakeup
        self._claiming = self._claim_statement()

    @staticmethod
    def _lock(candidates: Select[Any]) -> Select[Any]:
        return candidates

    async def _claim_rows(self, statement: Update, parameters: dict[str, Any]) -> Sequence[Row[Any]]:
        """Run the claiming statement in a transaction of its own (on a plain connection: no ORM session needed)."""
        async with self._engine.begin() as connection:
            return (await connection.execute(statement, parameters)).all()

    @staticmethod
    async def notify_in_transaction(session: AsyncSession) -> None:
        """Nothing to send: the one worker lives in the committing process, which wakes it after the commit."""

    async def notify_committed(self, session: AsyncSession) -> None:
        """In the caller's transaction: wake the workers once (and only if) it commits."""
        await self.notify_in_transaction(session)

    @contextlib.asynccontextmanager
    async def wakeups(self) -> AsyncIterator[asyncio.Event]:
        """The runtime's in-process event, which the API sets after each commit that enqueued messages."""
        yield self._wakeup

    async def claim(self, owner: str, limit: int, *, lease_s: float) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages (pending and due, or leased by anyone past expiry), oldest first."""
        now = utcnow()
        parameters = {"now": now, "limit": limit, "owner": owner, "lease_until": now + timedelta(seconds=lease_s)}
        rows = await self._claim_rows(self._claiming, parameters)
        # RETURNING does not keep the subquery's order; deliver oldest first within the batch.
        return sorted((ClaimedMessage(*cast("tuple[Any, ...]", row)) for row in rows), key=lambda c: c.id)

    @classmethod
    def _claim_statement(cls) -> Update:
        """The claim, built once with parameters (``now``, ``limit``, ``owner``, ``lease_until``).

        Building it costs more than running it (measured: about a millisecond of CPU for this statement, twice
        what the database spends on it), and one claim follows every few deliveries.

        The due messages are found by two queries, one per kind, each in the order of the (status,
        next_attempt_at) index: the index yields the first ``limit`` rows of each directly, where one query with
        an OR sorts every due message of a backlog at each claim. The first ``limit`` of the two together are the
        same messages.
        """
        now = bindparam("now", type_=_OUTBOX.c.next_attempt_at.type)
        limit = bindparam("limit", type_=Integer())
        order = (_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
        pending = select(_OUTBOX.c.id, _OUTBOX.c.next_attempt_at).where(
            _OUTBOX.c.status == MessageStatus.PENDING, _OUTBOX.c.next_attempt_at <= now
        )
        lapsed = select(_OUTBOX.c.id, _OUTBOX.c.next_attempt_at).where(
            _OUTBOX.c.status == MessageStatus.DELIVERING, _OUTBOX.c.lease_expires_at < now
        )
        each = [select(cls._lock(part.order_by(*order).limit(limit)).subquery()) for part in (pending, lapsed)]
        both = union_all(*each).subquery()
        due = select(both.c.id).order_by(both.c.next_attempt_at, both.c.id).limit(limit)
        return (
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(
                status=MessageStatus.DELIVERING,
                lease_owner=bindparam("owner", type_=_OUTBOX.c.lease_owner.type),
                lease_expires_at=bindparam("lease_until", type_=_OUTBOX.c.lease_expires_at.type),
            )
            .returning(*_CLAIMED_COLUMNS)
        )

    async def complete(self, session: AsyncSession, message_ids: Collection[str]) -> list[str]:
        """Mark messages delivered, even where the lease lapsed meanwhile; returns those not delivered before."""
        if not message_ids:
            return []
        updated = await session.scalars(_COMPLETING, {"ids": list(message_ids), "at": utcnow()})
        return sorted(updated.all())

    async def retry_later(
        self,
        session: AsyncSession,
        item: ClaimedMessage,
        owner: str,
        *,
        delay_s: float,
        status: DeliveryStatus,
        error: str | None,
    ) -> bool:
        """Count the attempt and schedule the next; False when ``owner`` no longer holds the lease."""
        next_at = utcnow() + timedelta(seconds=delay_s)
        settled = {"status": MessageStatus.PENDING, "next_attempt_at": next_at}
        return await self._settle(session, item, owner, outcome=status, error=error, settled=settled)

    async def dead_letter(
        self, session: AsyncSession, item: ClaimedMessage, owner: str, *, status: DeliveryStatus, error: str | None
    ) -> bool:
        """Count the attempt and give the message up; False when ``owner`` no longer holds the lease."""
        settled = {"status": MessageStatus.DEAD}
        return await self._settle(session, item, owner, outcome=status, error=error, settled=settled)

    @staticmethod
    async def _settle(
        session: AsyncSession,
        item: ClaimedMessage,
        owner: str,
        *,
        outcome: DeliveryStatus,
        error: str | None,
        settled: dict[str, Any],
    ) -> bool:
        statement = _leased_by(owner, item).values(
            attempt_count=item.attempt_count + 1,
            last_status=outcome,
            last_error=error,
            lease_owner=None,
            lease_expires_at=None,
            **settled,
        )
        result = await session.execute(statement.where(_OUTBOX.c.status == MessageStatus.DELIVERING))
        return cast("CursorResult[Any]", result).rowcount > 0

    async def put_back(self, item: ClaimedMessage, owner: str, *, delay_s: float, reason: str) -> None:
        """Return a message unattempted (held, or its endpoint's circuit is open), due again after ``delay_s``."""
        statement = _leased_by(owner, item).values(
            status=MessageStatus.PENDING,
            next_attempt_at=utcnow() + timedelta(seconds=max(0.0, delay_s)),
            lease_owner=None,
            lease_expires_at=None,
            last_error=reason,
        )
        async with self._sessions() as session, session.begin():
            await session.execute(statement)

    async def next_due_in(self, *, at_most: float) -> float:
        """Seconds until the earliest pending message is due, never more than ``at_most``."""
        async with self._sessions() as session:
            due: datetime | None = await session.scalar(_NEXT_DUE)
        if due is None:
            return at_most
        return min(at_most, max(0.0, (due - utcnow()).total_seconds()))


# Built once: statements run every few deliveries cost more to build than to run.
_COMPLETING: Final = (
    # A success counts even if our lease lapsed meanwhile; only never undo a delivered message. One statement for
    # the whole batch.
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)), _OUTBOX.c.status != MessageStatus.DELIVERED)
    .values(
        status=MessageStatus.DELIVERED,
        delivered_at=bindparam("at", type_=_OUTBOX.c.delivered_at.type),
        attempt_count=_OUTBOX.c.attempt_count + 1,
        last_status="delivered",
        last_error=None,
        lease_owner=None,
        lease_expires_at=None,
    )
    .returning(_OUTBOX.c.id)
)
_NEXT_DUE: Final = select(func.min(_OUTBOX.c.next_attempt_at)).where(_OUTBOX.c.status == MessageStatus.PENDING)


def _leased_by(owner: str, item: ClaimedMessage) -> Update:
    return update(_OUTBOX).where(_OUTBOX.c.id == item.id, _OUTBOX.c.lease_owner == owner)


class SqliteOutboxQueue(_SqlOutboxQueue):
    """The outbox on SQLite: one writer, so one worker, woken in process by the API's commits."""

    dialect = "sqlite"


class PostgresOutboxQueue(_SqlOutboxQueue):
    """The outbox on PostgreSQL: any number of workers, sharing it with ``SKIP LOCKED``, woken by ``NOTIFY``."""

    dialect = "postgresql"

    @staticmethod
    def _lock(candidates: Select[Any]) -> Select[Any]:
        # Rows another worker is claiming are skipped, not waited for: two claims never return the same message.
        return candidates.with_for_update(skip_locked=True)

    async def _claim_rows(self, statement: Update, parameters: dict[str, Any]) -> Sequence[Row[Any]]:
        """Run the claiming statement on its own, in autocommit: one statement is atomic by itself.

        Its row locks last as long as the statement, which is all ``SKIP LOCKED`` needs; without the explicit
        transaction a claim is one round trip instead of three (``BEGIN``, the statement, ``COMMIT``).
        """
        async with self._engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (await autocommit.execute(statement, parameters)).all()

    @contextlib.asynccontextmanager
    async def wakeups(self) -> AsyncIterator[asyncio.Event]:
        """The runtime's in-process event, also set by every ``NOTIFY`` on :data:`NOTIFY_CHANNEL` meanwhile."""
        listener = asyncio.create_task(self._listen(), name="spotcheck-outbox-listen")
        try:
            yield self._wakeup
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener

    @staticmethod
    async def notify_in_transaction(session: AsyncSession) -> None:
        """``pg_notify`` in the caller's transaction: PostgreSQL delivers it at commit, and only if it commits."""
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})

    async def _listen(self) -> None:
        """LISTEN and turn each NOTIFY into a wake-up; reconnects after failures (polling covers the gap)."""
        while True:
            try:
                async with self._engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None  # noqa: S101 - asyncpg connection behind the adapter

                    def _on_notify(*_: object) -> None:
                        self._wakeup.set()

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
            except Exception:  # noqa: BLE001 - keep listening across database restarts
                _log.warning("LISTEN connection lost; reconnecting")
                await asyncio.sleep(_RELISTEN_AFTER_S)


_BY_DIALECT: Final[dict[str, type[_SqlOutboxQueue]]] = {
    PostgresOutboxQueue.dialect: PostgresOutboxQueue,
    SqliteOutboxQueue.dialect: SqliteOutboxQueue,
}


def _queue_class(dialect: str) -> type[_SqlOutboxQueue]:
    # Any other database gets SQLite's conservative behaviour: plain claims, in-process wake-ups.
    return _BY_DIALECT.get(dialect, SqliteOutboxQueue)


def outbox_queue(runtime: Runtime) -> OutboxQueue:
    """The outbox of ``runtime``'s database, chosen once from its engine."""
    queue_class = _queue_class(runtime.engine.dialect.name)
    queue: OutboxQueue = queue_class(runtime.engine, runtime.sessions, runtime.outbox_wakeup)
    return queue


async def notify_committed(session: AsyncSession) -> None:
    """In the caller's transaction: wake every worker once it commits, and not at all if it rolls back.

    On PostgreSQL this is a transactional ``pg_notify``, which reaches the workers of every process. On SQLite
    there is nothing to send: the one worker lives in the committing process, which sets the in-process event
    after it commits (``Runtime.wake_outbox``).
    """
    if session.bind is not None:
        await _queue_class(session.bind.dialect.name).notify_in_transaction(session)
