"""The intake's group commit: replies that arrive while a transaction is under way share the next one.

Each request verifies and decodes its reply on its own (CPU work, no database) and hands it to the
:class:`ReplyBatcher`; one task per process takes everything handed over so far and stores it in one transaction
with a few set-wise statements (one look-up of webhook-ids, one of cases, one of notices, multi-row inserts).
Every request is answered only after the commit that holds its reply, so durability is what it was with one
transaction per reply; a busy intake just pays one commit and one pool checkout per batch instead of per reply.

Nothing waits to fill a batch: a reply that finds the batcher idle is stored at once, alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import structlog

__all__ = ["ReplyBatcher"]

_log = structlog.get_logger("spotcheck.gateway.intake.batcher")

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH: Final = 128


@dataclass(frozen=True, slots=True)
class _Waiting(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result]


class ReplyBatcher(Generic[Item, Result]):
    """Feeds submitted items to ``process`` in batches, one batch at a time, and answers each submitter.

    ``process`` receives a batch and returns one outcome per item, in order: a result, or an exception for that
    item alone. An exception escaping ``process`` fails every item of the batch with it.
    """

    def __init__(
        self,
        process: Callable[[Sequence[Item]], Awaitable[list[Result | Exception]]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        name: str = "spotcheck-intake-batches",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch: must be at least 1")
        self._process = process
        self._max_batch = max_batch
        self._name = name
        self._queue: list[_Waiting[Item, Result]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """Store ``item`` in the next batch and return its result once that batch is committed.

        A caller cancelled while waiting does not take its item back: what was handed over is still processed.

        Raises:
            Exception: whatever processing gave for this item.
            RuntimeError: the batcher is closed.
        """
        if self._closed:
            raise RuntimeError("the intake batcher is closed")
        waiting: _Waiting[Item, Result] = _Waiting(item, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=self._name)
        return await asyncio.shield(waiting.answer)

    async def close(self) -> None:
        """Refuse further items and wait for those already submitted."""
        self._closed = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                outcomes = _one_each(await self._process([waiting.item for waiting in batch]), len(batch))
            except BaseException as exc:
                _log.exception("intake batch failed", replies=len(batch))
                failure = exc if isinstance(exc, Exception) else RuntimeError("the intake batch was interrupted")
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise
                continue
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.answer.done():
                    continue
                if isinstance(outcome, Exception):
                    waiting.answer.set_exception(outcome)
                else:
                    waiting.answer.set_result(outcome)


def _one_each(outcomes: list[Result | Exception], expected: int) -> list[Result | Exception]:
    if len(outcomes) != expected:
        raise RuntimeError(f"a batch of {expected} answered with {len(outcomes)} outcomes")
    return outcomes
