"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL.

Tables are declared twice (models for the code, migrations for the databases); this is what keeps the two equal:
a database migrated from empty is compared with the models by Alembic's autogenerate, which must find nothing to do.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import spotcheck.gateway.store
from spotcheck.gateway.store import migrations
from spotcheck.gateway.store.engine import create_engine
from spotcheck.gateway.store.models import Base

pytestmark = pytest.mark.postgres


def _all_models() -> None:
    for module in pkgutil.iter_modules(spotcheck.gateway.store.__path__):
        if module.name.startswith("models"):
            importlib.import_module(f"spotcheck.gateway.store.{module.name}")


async def test_a_database_migrated_from_empty_matches_the_models(database_url: str) -> None:
    _all_models()
    engine = create_engine(database_url)
    try:
        await migrations.upgrade(engine)

        def _differences(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == [], "\n".join(map(repr, differences))
