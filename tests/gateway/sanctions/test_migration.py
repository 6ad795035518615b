"""Migration 0008 (issue 14: the hazard list, warnings, penalties, the backup sample's return) goes up and down."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from spotcheck.gateway.store import migrations
from spotcheck.gateway.store.engine import create_engine

pytestmark = pytest.mark.postgres

TABLES = {"hazard_listings", "consumer_warnings", "penalty_decisions", "backup_sample_returns"}


async def _tables(engine: Any) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_0008_creates_and_drops_its_tables_per_clauses_3_1_4_2_4_3(database_url: str) -> None:
    """三(一), 四(二), 四(三): the four tables appear at 0008 and go again on its downgrade, on both engines."""
    engine = create_engine(database_url)
    try:
        await migrations.upgrade(engine, "0008")
        assert await _tables(engine) >= TABLES

        await migrations.downgrade(engine, "0007")
        assert not TABLES & await _tables(engine)
        await migrations.upgrade(engine)
        assert await _tables(engine) >= TABLES
    finally:
        await engine.dispose()
