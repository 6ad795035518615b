"""The sequencer as the scheduler runs it: every leaf committed under load is in a signed checkpoint within 2 s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from spotcheck.gateway.audit.sequencer import latest_tree_head
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import Scheduler, log_sequencer_job

pytestmark = pytest.mark.postgres

RATE = 1000  # leaves/s appended, above the intake's measured peak (~175 replies/s, two leaves each)
SECONDS = 1.5
MAX_DELAY_S = 2.0


async def test_leaves_are_signed_within_two_seconds_of_their_commit(runtime: Runtime, append: Any) -> None:
    stop = asyncio.Event()
    scheduler = asyncio.create_task(Scheduler(runtime.sessions, [log_sequencer_job(runtime.settings)]).run(stop))
    committed: list[float] = []  # commit time of leaf i (the records are appended one transaction at a time)
    signed_at: dict[int, float] = {}  # first time a checkpoint covering i leaves was seen

    async def watch() -> None:
        while True:
            async with runtime.sessions() as session:
                head = await latest_tree_head(session)
            if head is not None and head.tree_size not in signed_at:
                signed_at[head.tree_size] = time.monotonic()
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        batch = RATE // 20
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            await append(runtime.sessions, batch, start=len(committed))
            committed.extend([time.monotonic()] * batch)
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 10
        while max(signed_at, default=0) < len(committed) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await scheduler
    assert max(signed_at) == len(committed)
    delays = []
    for index, at in enumerate(committed):
        covering = min(when for size, when in signed_at.items() if size > index)
        delays.append(covering - at)
    assert max(delays) < MAX_DELAY_S, f"slowest leaf signed after {max(delays):.2f} s"
