"""The log under faults: a sequencer killed mid-batch, two sequencers at once, and tampering with leaves and nodes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from spotcheck.gateway.audit.leaves import record_leaf_hash
from spotcheck.gateway.audit.sequencer import LogCorruptedError, LogSigner, Sequencer, latest_tree_head
from spotcheck.gateway.audit.service import LogService
from spotcheck.gateway.audit.verify import audit_report
from spotcheck.gateway.cli import main
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_log import SignedTreeHead
from spotcheck.sdk import verify_consistency

pytestmark = pytest.mark.postgres

_KILLED_SEQUENCER = textwrap.dedent(
    """
    import asyncio, sys, time
    from spotcheck.gateway.audit.sequencer import LogSigner, Sequencer
    from spotcheck.gateway.runtime import Runtime
    from spotcheck.gateway.settings import Settings

    async def main() -> None:
        settings = Settings().with_changes(
            {"store.data_dir": sys.argv[1], "store.database_url": sys.argv[2], "worker.run": False}
        )
        runtime = Runtime(settings)
        sequencer = Sequencer(LogSigner.for_settings(settings), batch=int(sys.argv[3]))
        async with runtime.sessions() as session, session.begin():
            assert await sequencer.lead(session)
            await sequencer.integrate(session)  # indexes assigned, nodes and checkpoint written: not committed
            print("mid-batch", flush=True)
            time.sleep(600)  # killed here

    asyncio.run(main())
    """
)


async def _finish(racing: Any, session: Any) -> None:
    """The racing round's work and commit: one of them must fail on the unique keys."""
    await racing
    await session.commit()


def _report(runtime: Runtime) -> Any:
    async def run() -> Any:
        async with runtime.sessions() as session:
            return await audit_report(session, LogSigner.for_settings(runtime.settings))

    return run()


async def test_a_sequencer_killed_mid_batch_loses_and_doubles_nothing(
    runtime: Runtime, append: Any, sequence: Any
) -> None:
    await append(runtime.sessions, 10)
    first = (await sequence(runtime.sessions, runtime.settings))[-1]
    await append(runtime.sessions, 25, start=10)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _KILLED_SEQUENCER,
        str(runtime.settings.store.data_dir),
        runtime.settings.store.url,
        "7",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"mid-batch"
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()

    signed = await sequence(runtime.sessions, runtime.settings, batch=7)
    async with runtime.sessions() as session:
        indexes = list(await session.scalars(select(AuditRecord.leaf_index).order_by(AuditRecord.seq)))
        proof = await LogService(session).consistency(first.tree_size, signed[-1].tree_size)
        sizes = list(await session.scalars(select(SignedTreeHead.tree_size).order_by(SignedTreeHead.signed_at)))
    assert indexes == list(range(35))  # every record once, in insertion order
    assert sizes == sorted(sizes)  # never a smaller tree after a larger one
    assert signed[0].tree_size == 17  # the killed batch was redone from the last signed tree
    assert verify_consistency(first.tree_size, 35, first.root_hash, signed[-1].root_hash, proof)
    assert (await _report(runtime)).ok


async def test_two_sequencers_never_integrate_at_once(runtime: Runtime, append: Any, sequence: Any) -> None:
    await append(runtime.sessions, 5)
    await sequence(runtime.sessions, runtime.settings)
    await append(runtime.sessions, 5, start=5)
    signer = LogSigner.for_settings(runtime.settings)
    if runtime.engine.dialect.name == "postgresql":
        other_engine = create_engine(runtime.settings.store.url)
        try:
            async with runtime.sessions() as one, one.begin(), session_factory(other_engine)() as two, two.begin():
                assert await Sequencer(signer).lead(one)
                assert not await Sequencer(signer).lead(two)  # the other process's lock is held: it skips
                await Sequencer(signer).integrate(one)
            # Even without the lock, the second of two racing rounds cannot commit a second tree of the same leaves.
            await append(runtime.sessions, 3, start=10)
            async with runtime.sessions() as one, session_factory(other_engine)() as two:
                await one.begin()
                await two.begin()
                await Sequencer(signer).integrate(one)
                racing = asyncio.ensure_future(Sequencer(signer).integrate(two))
                await asyncio.sleep(0.2)
                await one.commit()
                with pytest.raises((IntegrityError, DBAPIError)):
                    await _finish(racing, two)
                await two.rollback()
        finally:
            await other_engine.dispose()
    else:  # one process on SQLite: the database's single writer serialises rounds
        await sequence(runtime.sessions, runtime.settings)
    async with runtime.sessions() as session:
        head = await latest_tree_head(session)
        count = await session.scalar(select(func.count()).select_from(AuditRecord))
    assert head is not None
    assert head.tree_size == count
    assert (await _report(runtime)).ok


async def _prepare(runtime: Runtime, append: Any, sequence: Any) -> None:
    for start in range(0, 21, 7):
        await append(runtime.sessions, 7, start=start)
        await sequence(runtime.sessions, runtime.settings)


@pytest.mark.parametrize(
    ("statement", "bad_index"),
    [
        ("UPDATE audit_records SET actor = 'intruder' WHERE leaf_index = 9", 9),
        ("DELETE FROM audit_records WHERE leaf_index = 12", 12),
        ("swap leaf indexes 5 and 15", 5),
        ("UPDATE log_nodes SET hash = :junk WHERE level = 0 AND idx = 17", 17),
        ("UPDATE log_nodes SET hash = :junk WHERE level = 2 AND idx = 3", 12),
        ("DELETE FROM log_nodes WHERE level = 1 AND idx = 4", 8),
    ],
)
async def test_tampering_with_a_leaf_or_node_is_named_by_audit_verify(
    runtime: Runtime, append: Any, sequence: Any, statement: str, bad_index: int
) -> None:
    await _prepare(runtime, append, sequence)
    assert (await _report(runtime)).ok
    async with runtime.sessions() as session, session.begin():
        if statement.startswith("swap"):  # swap through a free value: the column is unique
            await session.execute(text("UPDATE audit_records SET leaf_index = -1 WHERE leaf_index = 5"))
            await session.execute(text("UPDATE audit_records SET leaf_index = 5 WHERE leaf_index = 15"))
            await session.execute(text("UPDATE audit_records SET leaf_index = 15 WHERE leaf_index = -1"))
        else:
            await session.execute(text(statement), {"junk": b"\xee" * 32} if ":junk" in statement else {})
    report = await _report(runtime)
    assert not report.ok
    assert report.log_break is not None
    assert report.log_break.index == bad_index, report.describe()

    env = {
        "SPOTCHECK_DATA_DIR": str(runtime.settings.store.data_dir),
        "SPOTCHECK_DATABASE_URL": runtime.settings.store.url,
        "SPOTCHECK_LOG_LEVEL": "WARNING",
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert f"BROKEN at leaf index {bad_index}" in result.output


async def test_a_rewritten_tree_fails_the_signed_checkpoints_and_the_sequencer_refuses_to_sign(
    runtime: Runtime, append: Any, sequence: Any
) -> None:
    await _prepare(runtime, append, sequence)
    async with runtime.sessions() as session, session.begin():
        # An intruder edits a record and recomputes its leaf hash: only the signed roots can tell.
        row = await session.scalar(select(AuditRecord).where(AuditRecord.leaf_index == 3))
        assert row is not None
        row.detail = {"n": 999}
        row.leaf_hash = record_leaf_hash(row.at, row.actor, row.action, row.subject, row.detail)
    async with runtime.sessions() as session:
        report = await audit_report(session, LogSigner.for_settings(runtime.settings))
    assert report.log_break is not None
    assert report.log_break.index == 3
    async with runtime.sessions() as session, session.begin():
        await session.execute(text("UPDATE log_nodes SET hash = :h WHERE level = 4 AND idx = 0"), {"h": b"\x01" * 32})
    await append(runtime.sessions, 1, start=100)
    with pytest.raises(LogCorruptedError):
        await sequence(runtime.sessions, runtime.settings)


async def test_verify_on_an_intact_log_through_the_cli(
    runtime: Runtime, append: Any, sequence: Any, tmp_path: Path
) -> None:
    await _prepare(runtime, append, sequence)
    env = {
        "SPOTCHECK_DATA_DIR": str(runtime.settings.store.data_dir),
        "SPOTCHECK_DATABASE_URL": runtime.settings.store.url,
        "SPOTCHECK_LOG_LEVEL": "WARNING",
    }
    signed = await asyncio.to_thread(CliRunner().invoke, main, ["audit", "checkpoint"], env=env)
    assert signed.exit_code == 0, signed.output
    assert signed.output.splitlines()[1] == "21"
    result = await asyncio.to_thread(CliRunner().invoke, main, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "audit log intact" in result.output
