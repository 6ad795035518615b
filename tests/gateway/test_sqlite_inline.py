"""SQLite on the event loop (store/sqlite_inline.py): same behaviour as aiosqlite, and lock waits that yield."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from spotcheck.gateway.store import sqlite_inline
from spotcheck.gateway.store.engine import create_engine


async def _table(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    await engine.dispose()


async def test_the_engine_runs_sqlite_inline_with_the_drivers_semantics(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"
    await _table(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_inline.InlineConnection)
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 0
        async with engine.begin() as connection:
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
            assert inserted.rowcount == 2
            many = await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "c"}, {"n": "d"}])
            assert many.rowcount == 2
            updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE name IN ('a', 'c')"))
            assert updated.rowcount == 2
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
            assert rows == ["a!", "b", "c!", "d"]
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (name) VALUES ('b')"))
        async with engine.begin() as connection:  # the failed transaction was rolled back; the connection works
            await connection.execute(text("INSERT INTO t (name) VALUES ('e')"))
            count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()
        assert count == 5
    finally:
        await engine.dispose()


async def test_a_writer_waiting_for_the_lock_lets_the_loop_run_and_the_holder_finish(tmp_path: Path) -> None:
    """Two engines on one file in one loop: the second waits cooperatively instead of blocking the first."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'locks.db'}"
    await _table(url)
    first, second = create_engine(url), create_engine(url)
    ticks = 0
    holding = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def hold() -> None:
        async with first.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('held')"))
            holding.set()
            await asyncio.sleep(0.2)  # the write lock is held across an await, as a request's transaction may

    async def wait_then_write() -> None:
        await holding.wait()
        async with second.begin() as connection:  # BEGIN IMMEDIATE: refused as busy until the holder commits
            await connection.execute(text("INSERT INTO t (name) VALUES ('waited')"))

    ticking = asyncio.create_task(ticker())
    try:
        await asyncio.wait_for(asyncio.gather(hold(), wait_then_write()), timeout=10)
        async with second.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    finally:
        ticking.cancel()
        await first.dispose()
        await second.dispose()
    assert names == ["held", "waited"]
    assert ticks >= 10


async def test_a_lock_held_past_the_timeout_fails_as_locked(tmp_path: Path) -> None:
    path = str(tmp_path / "timeout.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite_inline.InlineConnection(sqlite3.connect(path, isolation_level=None, timeout=0), timeout_s=0.05)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await waiter.execute("BEGIN IMMEDIATE")
    finally:
        holder.rollback()
        holder.close()
        await waiter.close()
        await waiter.close()  # closing twice is harmless


async def test_a_closed_connection_refuses_like_aiosqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'closed.db'}"
    connection = await sqlite_inline.connect(str(tmp_path / "closed.db"))
    await connection.close()
    with pytest.raises(ValueError, match="Connection closed"):
        await connection.execute("SELECT 1")
    engine = create_engine(url)
    try:
        async with engine.connect() as live:
            raw = await live.get_raw_connection()
            raw.driver_connection.stop()  # what SQLAlchemy's terminate calls
            with pytest.raises(OperationalError):
                await live.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
