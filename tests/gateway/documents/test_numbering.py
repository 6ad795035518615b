"""文号: per authority, kind and year in Beijing, gap-free and never reused, also under 50 concurrent requests."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from spotcheck.gateway.documents.numbering import document_year, format_document_number, next_document_number
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_documents import DocumentNumberSequence
from spotcheck.gateway.store.types import new_id


class _RefusedError(Exception):
    """A document that failed after taking its number (its transaction rolls back)."""


def test_the_number_reads_like_a_chinese_document_number_and_its_year_is_beijings() -> None:
    assert format_document_number("浙市监", "网抽通", 2026, 12) == "浙市监网抽通〔2026〕12号"
    assert document_year(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == 2027  # 00:30 on New Year's Day in Beijing
    assert document_year(datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == 2026


@pytest.fixture
async def pg_runtime(
    fresh_postgres: Callable[[], contextlib.AbstractAsyncContextManager[str]], tmp_path: Path
) -> AsyncIterator[Runtime]:
    async with fresh_postgres() as url:
        settings = Settings().with_changes(
            {"store.data_dir": tmp_path, "store.database_url": url, "worker.run": False, "log.level": "WARNING"}
        )
        runtime = Runtime(settings)
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.stop()


async def _authority(runtime: Runtime, code: str) -> str:
    async with runtime.sessions() as session, session.begin():
        authority = Authority(id=new_id("auth"), name=f"{code} 局", level="provincial", division_code=code)
        session.add(authority)
    return authority.id


@pytest.mark.postgres
async def test_fifty_concurrent_requests_on_postgresql_are_gap_free_and_a_rolled_back_number_is_given_again(
    pg_runtime: Runtime,
) -> None:
    zj, gd = await _authority(pg_runtime, "330000"), await _authority(pg_runtime, "440000")
    committed: list[tuple[str, int]] = []
    refused = 0
    rng = random.Random(15)

    async def request(index: int) -> None:
        nonlocal refused
        authority = zj if index % 5 else gd
        try:
            async with pg_runtime.sessions() as session, session.begin():
                number = await next_document_number(session, authority, "result_notice", 2026)
                await asyncio.sleep(rng.random() / 100)  # the render, while the row stays locked
                if index % 7 == 3:
                    raise _RefusedError  # the render failed: nothing is produced, the number goes back
            committed.append((authority, number))
        except _RefusedError:
            refused += 1

    await asyncio.gather(*(request(i) for i in range(50)))
    assert refused == 7
    for authority in (zj, gd):
        numbers = sorted(n for a, n in committed if a == authority)
        assert numbers == list(range(1, len(numbers) + 1)), numbers  # no gap, no repeat
    async with pg_runtime.sessions() as session:
        rows = (await session.scalars(select(DocumentNumberSequence))).all()
    assert sorted((r.authority_id == zj, r.kind, r.year, r.last) for r in rows) == [
        (False, "result_notice", 2026, 8),
        (True, "result_notice", 2026, 35),
    ]


async def test_sequences_are_separate_per_authority_kind_and_year(runtime: Runtime) -> None:
    zj = await _authority(runtime, "330000")
    async with runtime.sessions() as session, session.begin():
        taken = [
            await next_document_number(session, zj, "result_notice", 2026),
            await next_document_number(session, zj, "result_notice", 2026),
            await next_document_number(session, zj, "stop_sale_order", 2026),
            await next_document_number(session, zj, "result_notice", 2027),
        ]
    assert taken == [1, 2, 1, 1]
