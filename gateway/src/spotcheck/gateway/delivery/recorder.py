"""Making attempts durable: a group commit (:class:`OutcomeRecorder`) over the store's write (:class:`OutcomeWriter`).

Outcomes that finish while a write is under way wait for the next one and share its transaction, so a busy
worker pays one commit and one multi-row insert per batch instead of per message, with no lock (each round trip
to the store costs far more than the work itself). The recorder knows nothing of the store; the writer knows
nothing of batching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.adapters import DeliveryOutcome
from spotcheck.gateway.audit.service import AuditEntry, append_audit_many
from spotcheck.gateway.delivery.queue import ClaimedMessage, OutboxQueue
from spotcheck.gateway.delivery.retry import RetryIn, RetryPolicy
from spotcheck.gateway.delivery.stages import Attempt
from spotcheck.gateway.observability import Metrics
from spotcheck.gateway.store.models import DeliveryAttempt, OperationalEvent, Platform
from spotcheck.gateway.store.statuses import RecipientKind
from spotcheck.gateway.store.types import new_id, utcnow

__all__ = ["BatchWriter", "OutcomeRecorder", "OutcomeWriter"]

_log = structlog.get_logger("spotcheck.gateway.delivery.recorder")
_ERROR_CHARS: Final = 500
_REASON_CHARS: Final = 500
_ATTEMPTS = cast("Table", DeliveryAttempt.__table__)


class BatchWriter(Protocol):
    """Writes a batch of attempts in one transaction: all of them, or (raising) none."""

    async def write(self, batch: Sequence[Attempt]) -> None:
        """Make every attempt of ``batch`` durable in one transaction."""
        ...


@dataclass(frozen=True, slots=True)
class _Pending:
    attempt: Attempt
    written: asyncio.Future[None]


class OutcomeRecorder:
    """The group commit: :meth:`submit` outcomes, :meth:`flush` what was submitted, :meth:`close` at the end.

    A write that fails is retried after each of ``retry_delays_s`` (the outcomes are still here and the
    transaction rolled back); then each outcome is tried in a transaction of its own, so one bad record (or a
    brief outage) costs at most its own message a redelivery after its lease, never the whole batch's.

    With ``linger_s`` a write waits up to that long for more outcomes to share it, unless ``batch_size`` of them
    are waiting or one is submitted with ``hurry`` (or :meth:`hurry`, :meth:`flush`, :meth:`close` is called):
    when nobody waits for the records, fewer and larger writes cost less than many small ones.
    """

    def __init__(
        self,
        writer: BatchWriter,
        *,
        retry_delays_s: Sequence[float] = (0.2, 1.0),
        linger_s: float = 0.0,
        batch_size: int | None = None,
    ) -> None:
        self.writer = writer
        """Where batches go; a test may replace its ``write``."""
        self.retry_delays_s = tuple(retry_delays_s)
        """Pauses before retrying a failed shared write, before the per-outcome fallback."""
        self.linger_s = linger_s
        """How long a write waits for more outcomes to share it (0: it starts at once)."""
        self.batch_size = batch_size
        """How many waiting outcomes end the wait at once (None: only the time, or a hurry, ends it)."""
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._ready = asyncio.Event()

    def submit(self, attempt: Attempt, *, hurry: bool = False) -> asyncio.Future[None]:
        """Queue ``attempt`` for the next write; the future resolves once it is durable, or fails with the reason.

        ``hurry``: someone waits for this record, so the next write does not linger.

        Raises:
            RuntimeError: the recorder is closed.
        """
        if self._closed:
            raise RuntimeError("the outcome recorder is closed")
        pending = _Pending(attempt, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if hurry or (self.batch_size is not None and len(self._pending) >= self.batch_size):
            self._ready.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write_pending(), name="spotcheck-worker-records")
        return pending.written

    def hurry(self) -> None:
        """Start the next write now instead of letting it wait for more outcomes."""
        self._ready.set()

    @property
    def backlog(self) -> int:
        """Outcomes submitted and waiting for the next write (those of the write under way not counted)."""
        return len(self._pending)

    async def flush(self) -> None:
        """Wait until every outcome submitted so far is written or has failed.

        Cancelling the caller does not interrupt a write under way: an outcome handed over is still recorded.
        """
        self._ready.set()
        if self._task is not None:
            await asyncio.gather(asyncio.shield(self._task), return_exceptions=True)

    async def close(self) -> None:
        """Refuse further outcomes and flush those already submitted."""
        self._closed = True
        await self.flush()

    async def _write_pending(self) -> None:
        while self._pending:
            interrupted = await self._linger()
            self._ready.clear()
            batch, self._pending = self._pending, []
            try:
                await self._write_batch(batch)
            except BaseException as exc:
                for pending in batch:
                    if not pending.written.done():
                        pending.written.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
            if interrupted:
                raise asyncio.CancelledError

    async def _linger(self) -> bool:
        """Wait for more outcomes to share the next write; True when cancelled meanwhile (write, then stop)."""
        if self.linger_s <= 0 or self._ready.is_set():
            return False
        try:
            async with asyncio.timeout(self.linger_s):
                await self._ready.wait()
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            return True
        return False

    async def _write_batch(self, batch: list[_Pending]) -> None:
        for delay in self.retry_delays_s:
            try:
                await self.writer.write([pending.attempt for pending in batch])
            except Exception:  # noqa: BLE001 - the store may be restarting or busy: back off and try again
                _log.warning("recording outcomes failed; retrying", outcomes=len(batch))
                await asyncio.sleep(delay)
            else:
                _resolve(batch)
                return
        for pending in batch:
            try:
                await self.writer.write([pending.attempt])
            except Exception as exc:  # noqa: BLE001 - left to the lease; the waiter logs it
                if not pending.written.done():
                    pending.written.set_exception(exc)
            else:
                _resolve([pending])


def _resolve(batch: list[_Pending]) -> None:
    for pending in batch:
        if not pending.written.done():
            pending.written.set_result(None)


class OutcomeWriter:
    """What a batch of attempts does to the store, in one transaction.

    Every attempt is logged; a delivered message is marked so (counted even if its lease lapsed meanwhile, and
    never undone); a failed one is scheduled again by the retry policy or dead-lettered, and a ``gone`` platform
    endpoint is disabled. Deliveries, dead letters and disablings are audited; failures that need an operator
    become operational events.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        queue: OutboxQueue,
        retry: RetryPolicy,
        worker_id: str,
        metrics: Metrics,
        on_platform_disabled: Callable[[str], None],
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._retry = retry
        self._worker_id = worker_id
        self._actor = f"worker:{worker_id}"
        self._metrics = metrics
        self._on_platform_disabled = on_platform_disabled
        self.delivered = 0
        """Messages this writer marked delivered (counted once committed, so a retried batch never counts twice)."""

    async def write(self, batch: Sequence[Attempt]) -> None:
        """Record ``batch`` in one transaction (all of it, or nothing when this raises)."""
        audit: list[AuditEntry] = []
        disabled: list[str] = []
        async with self._sessions() as session, session.begin():
            # A plain multi-row insert on the Core table: one round trip for the batch, and no ORM bulk bookkeeping.
            await session.execute(insert(_ATTEMPTS), [self._attempt_row(attempt) for attempt in batch])
            delivered = {a.item.id: a for a in batch if a.outcome.status == "delivered"}
            newly_delivered = await self._queue.complete(session, delivered)
            for message_id in newly_delivered:
                attempt = delivered[message_id]
                detail = {
                    "attempt": attempt.item.attempt_count + 1,
                    "http": attempt.outcome.http_status,
                    "ref": attempt.outcome.remote_reference,
                }
                audit.append(AuditEntry(self._actor, "message.delivered", message_id, detail))
            for attempt in batch:
                if attempt.outcome.status != "delivered":
                    audit.extend(await self._settle_failure(session, attempt, disabled))
            if audit:
                await append_audit_many(session, audit)
        self.delivered += len(newly_delivered)
        for platform_id in disabled:
            self._on_platform_disabled(platform_id)
        for attempt in batch:
            self._metrics.deliveries.labels(attempt.outcome.status).inc()

    def _attempt_row(self, attempt: Attempt) -> dict[str, Any]:
        outcome = attempt.outcome
        return {
            "message_id": attempt.item.id,
            "attempt": attempt.item.attempt_count + 1,
            "worker": self._worker_id,
            "started_at": attempt.started,
            "latency_ms": round(outcome.latency_ms),
            "outcome": outcome.status,
            "http_status": outcome.http_status,
            "response_excerpt": outcome.response_excerpt or None,
            "error": _error_of(outcome),
        }

    async def _settle_failure(self, session: AsyncSession, attempt: Attempt, disabled: list[str]) -> list[AuditEntry]:
        """Schedule the retry, or dead-letter (and maybe disable the endpoint), for one failed attempt."""
        item, outcome = attempt.item, attempt.outcome
        attempts = item.attempt_count + 1
        error = _error_of(outcome)
        decision = self._retry.after(attempts, outcome)
        if isinstance(decision, RetryIn):
            # Nothing to audit, whether the retry is scheduled or the lease lapsed and another worker has it.
            await self._queue.retry_later(
                session, item, self._worker_id, delay_s=decision.delay_s, status=outcome.status, error=error
            )
            return []
        owned = await self._queue.dead_letter(session, item, self._worker_id, status=outcome.status, error=error)
        if not owned:
            return []  # the lease lapsed and another worker owns the message now
        if decision.reason == "exhausted":
            audit = [self._event(session, item, "delivery.exhausted", {"attempts": attempts, "error": error})]
        else:
            detail = {"error": error, "http": outcome.http_status}
            audit = [self._event(session, item, f"delivery.{decision.reason}", detail)]
        if outcome.status == "gone" and item.recipient_kind == RecipientKind.PLATFORM:
            audit.extend(await self._disable_platform(session, item, outcome, disabled))
        return audit

    def _event(self, session: AsyncSession, item: ClaimedMessage, kind: str, detail: dict[str, Any]) -> AuditEntry:
        session.add(
            OperationalEvent(
                id=new_id("evt"),
                kind=kind,
                case_id=item.case_id,
                platform_id=item.recipient_id if item.recipient_kind == RecipientKind.PLATFORM else None,
                detail={"message": item.id, "type": item.message_type, **detail},
            )
        )
        return AuditEntry(self._actor, kind, item.id, detail)

    async def _disable_platform(
        self, session: AsyncSession, item: ClaimedMessage, outcome: DeliveryOutcome, disabled: list[str]
    ) -> list[AuditEntry]:
        platform = await session.get(Platform, item.recipient_id)
        if platform is None or platform.disabled_at is not None:
            return []
        platform.disabled_at = utcnow()
        reason = f"endpoint answered {outcome.http_status or 'gone'}: {outcome.error or ''}"[:_REASON_CHARS]
        platform.disabled_reason = reason
        disabled.append(platform.id)
        return [self._event(session, item, "endpoint.disabled", {"reason": reason})]


def _error_of(outcome: DeliveryOutcome) -> str | None:
    return (outcome.error or "")[:_ERROR_CHARS] or None
