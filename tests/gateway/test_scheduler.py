"""The periodic jobs beside the worker: their turns, failures, the one leader on PostgreSQL, and the real jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.scheduler import (
    JobReport,
    PeriodicJob,
    Scheduler,
    log_sequencer_job,
    maintenance_scheduler,
)
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_log import SignedTreeHead


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings().with_changes(
        {
            "store.data_dir": tmp_path / "data",
            "store.database_url": database_url,
            "worker.run": False,
            "log.level": "WARNING",
        }
    )
    runtime = Runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def counting_job(name: str, runs: list[str], *, every_s: float = 60.0, fail: bool = False) -> PeriodicJob:
    async def run(session: AsyncSession) -> JobReport:
        runs.append(name)
        if fail:
            raise OSError("database is restarting")
        await session.execute(text("SELECT 1"))
        return {"ran": len(runs)}

    return PeriodicJob(name, every_s, 4242, run)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_jobs_run_at_start_then_at_their_interval_and_a_failure_waits_for_the_next_turn(
    runtime: Runtime,
) -> None:
    clock = FakeClock()
    runs: list[str] = []
    jobs = [counting_job("sweep", runs, every_s=60), counting_job("flaky", runs, every_s=10, fail=True)]
    scheduler = Scheduler(runtime.sessions, jobs, clock=clock)
    assert await scheduler.run_due() == ["sweep"]  # the failing job is logged, the others go on
    assert runs == ["sweep", "flaky"]
    clock.now = 9.0
    assert await scheduler.run_due() == []
    clock.now = 10.0
    await scheduler.run_due()
    assert runs == ["sweep", "flaky", "flaky"]
    clock.now = 60.0
    await scheduler.run_due()
    assert runs.count("sweep") == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_on_postgres_one_process_runs_a_round_while_the_others_skip_it(runtime: Runtime) -> None:
    runs: list[str] = []
    scheduler = Scheduler(runtime.sessions, [counting_job("sweep", runs)], clock=FakeClock())
    async with runtime.engine.connect() as other_process:
        async with other_process.begin():
            assert await other_process.scalar(text("SELECT pg_try_advisory_xact_lock(4242)"))
            assert await scheduler.run_due() == []  # another process leads this round
        assert runs == []
    second = Scheduler(runtime.sessions, [counting_job("sweep", runs)], clock=FakeClock())
    assert await second.run_due() == ["sweep"]


async def test_the_maintenance_jobs_sweep_deadlines_and_integrate_the_log(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        await append_audit(session, actor="test", action="case.created", subject="SC-1", detail={})
        await append_audit(session, actor="test", action="case.updated", subject="SC-1", detail={})
    scheduler = maintenance_scheduler(runtime)
    assert await scheduler.run_due() == ["deadline sweep", "log checkpoint signed"]
    async with runtime.sessions() as session:
        sizes = (await session.scalars(select(SignedTreeHead.tree_size))).all()
        unsequenced: Any = await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.leaf_index.is_(None))
        )
    assert sizes == [2]
    assert unsequenced == 0
    job = log_sequencer_job(runtime.settings)
    async with runtime.sessions() as session, session.begin():
        assert await job.run(session) is None  # nothing new: no checkpoint
