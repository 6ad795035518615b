"""Helpers for the transparency-log tests: appending records, running the sequencer to the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.gateway.audit.sequencer import LogSigner, Sequencer
from spotcheck.gateway.audit.service import AuditEntry, append_audit_many
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models_log import SignedTreeHead


async def append_events(sessions: async_sessionmaker[AsyncSession], count: int, *, start: int = 0) -> list[str]:
    """Append ``count`` event records in one transaction; their leaf hashes (hex)."""
    async with sessions() as session, session.begin():
        entries = [AuditEntry("test", "case.changed", "case_1", {"n": n}) for n in range(start, start + count)]
        return await append_audit_many(session, entries)


async def integrate(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, batch: int = 10_000
) -> list[SignedTreeHead]:
    """Run sequencer rounds until nothing is left; the checkpoints they signed."""
    sequencer = Sequencer(LogSigner.for_settings(settings), batch=batch)
    signed: list[SignedTreeHead] = []
    while True:
        async with sessions() as session, session.begin():
            assert await sequencer.lead(session)
            head = await sequencer.integrate(session)
        if head is None:
            return signed
        signed.append(head)


@pytest.fixture
def append() -> Callable[..., Awaitable[list[str]]]:
    """``await append(sessions, count, start=…)``."""
    return append_events


@pytest.fixture
def sequence() -> Callable[..., Awaitable[Any]]:
    """``await sequence(sessions, settings, batch=…)``."""
    return integrate
