"""Alembic migrations of the gateway's store, applied by ``spotcheck migrate`` and on an empty database."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["ForeignKeyViolationError", "alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migrations shipped inside this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("spotcheck.gateway.store") / "migrations"))
    return cfg


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - at least one migration ships with the package
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at, or None for an empty database."""

    def _read(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on the engine's database, in one transaction where the engine allows."""
    await _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to ``revision``, as :func:`upgrade` applies them."""
    await _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


class ForeignKeyViolationError(RuntimeError):
    """A migration on SQLite left rows that refer to rows that no longer exist; nothing of it was committed."""


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    def _run(sync_conn: Any) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        step(cfg)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        return
    # On SQLite a migration in batch mode rebuilds a table (copy, drop, rename), and with foreign keys enforced the
    # drop fails as soon as another table's rows refer to it: a store in service could not be migrated. SQLite
    # ignores this pragma inside a transaction, so it is switched off before the migration's transaction and on
    # again after; the foreign key check before the commit proves the migration broke no reference (Alembic's
    # documentation gives this recipe for batch migrations).
    async with engine.connect() as conn:
        await conn.run_sync(_pragma, "PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(_run)
                broken = await conn.run_sync(_pragma, "PRAGMA foreign_key_check")
                if broken:
                    raise ForeignKeyViolationError(f"the migration would break references: {broken[:5]}")
        finally:
            await conn.run_sync(_pragma, "PRAGMA foreign_keys=ON")


def _pragma(sync_conn: Any, statement: str) -> list[Any]:
    # On the driver's connection: through SQLAlchemy the statement would begin a transaction first.
    cursor = sync_conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(statement)
        return list(cursor.fetchall())
    finally:
        cursor.close()
