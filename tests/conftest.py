"""Shared fixtures: the real PostgreSQL server (fail, never skip, under CI=true) and helpers."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

PG_HOST = os.environ.get("SPOTCHECK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SPOTCHECK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SPOTCHECK_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("SPOTCHECK_TEST_PG_DB", "test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is required: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing server is a failure, not a skip)")
    pytest.skip(message)


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"{type(exc).__name__}: {exc}")
        raise  # unreachable: _unavailable always raises


@contextlib.asynccontextmanager
async def _fresh_postgres() -> AsyncIterator[str]:
    name = f"spotcheck_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def fresh_postgres() -> Callable[[], contextlib.AbstractAsyncContextManager[str]]:
    """Make fresh, empty PostgreSQL databases (each dropped when its block ends)."""
    return _fresh_postgres


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    async with _fresh_postgres() as url:
        yield url


@pytest.fixture(autouse=True)
def _clean_spotcheck_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SPOTCHECK_* environment must not leak into tests."""
    for key in list(os.environ):
        if key.startswith("SPOTCHECK_"):
            monkeypatch.delenv(key)
