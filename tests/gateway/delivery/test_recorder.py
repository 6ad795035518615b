"""The group commit as a batcher: outcomes share a write, failed writes are retried then split, flush and close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from spotcheck.adapters import DeliveryOutcome
from spotcheck.gateway.delivery.recorder import OutcomeRecorder
from spotcheck.gateway.delivery.stages import Attempt
from spotcheck.gateway.store.types import utcnow

from .conftest import claimed


def attempt(name: str) -> Attempt:
    return Attempt(claimed(id=name), DeliveryOutcome(status="delivered"), utcnow())


class GatedWriter:
    """Records each batch; holds every write until ``gate`` opens, and fails those ``fails`` says."""

    def __init__(self, fails: Callable[[list[str]], bool] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fails = fails or (lambda ids: False)

    async def write(self, batch: Sequence[Attempt]) -> None:
        ids = [a.item.id for a in batch]
        self.batches.append(ids)
        await self.gate.wait()
        if self.fails(ids):
            raise OSError(f"store refused {ids}")


async def test_outcomes_finishing_during_a_write_share_the_next_one() -> None:
    writer = GatedWriter()
    writer.gate.clear()
    recorder = OutcomeRecorder(writer)
    first = recorder.submit(attempt("a"))
    await asyncio.sleep(0)  # the write of "a" is under way
    later = [recorder.submit(attempt(name)) for name in ("b", "c", "d")]
    writer.gate.set()
    await asyncio.gather(first, *later)
    assert writer.batches == [["a"], ["b", "c", "d"]]


async def test_flush_waits_for_everything_submitted_and_close_refuses_more() -> None:
    writer = GatedWriter()
    writer.gate.clear()
    recorder = OutcomeRecorder(writer)
    written = [recorder.submit(attempt(name)) for name in ("a", "b")]
    flushing = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0.01)
    assert not flushing.done()
    writer.gate.set()
    await asyncio.wait_for(flushing, 1)
    assert all(future.done() and future.exception() is None for future in written)
    await recorder.close()
    with pytest.raises(RuntimeError, match="closed"):
        recorder.submit(attempt("late"))


async def test_a_failing_shared_write_is_retried_then_split_so_one_bad_record_costs_only_itself() -> None:
    writer = GatedWriter(fails=lambda ids: len(ids) > 1 or ids == ["bad"])
    writer.gate.clear()
    recorder = OutcomeRecorder(writer, retry_delays_s=(0.0, 0.0))
    head = recorder.submit(attempt("first"))
    await asyncio.sleep(0)
    batch = {name: recorder.submit(attempt(name)) for name in ("ok-1", "bad", "ok-2")}
    writer.gate.set()
    await head
    await recorder.flush()
    assert writer.batches == [["first"], *[["ok-1", "bad", "ok-2"]] * 2, ["ok-1"], ["bad"], ["ok-2"]]
    assert batch["ok-1"].result() is None
    assert batch["ok-2"].result() is None
    with pytest.raises(OSError, match="bad"):
        batch["bad"].result()


async def test_a_write_handed_over_finishes_even_when_the_flusher_is_cancelled() -> None:
    writer = GatedWriter()
    writer.gate.clear()
    recorder = OutcomeRecorder(writer)
    written = recorder.submit(attempt("a"))
    flushing = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)
    flushing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flushing
    writer.gate.set()
    await asyncio.wait_for(written, 1)
    assert writer.batches == [["a"]]
