"""Alembic environment: runs on the connection handed over by :func:`spotcheck.gateway.store.migrations.upgrade`."""

from __future__ import annotations

from alembic import context

import spotcheck.gateway.store.models_console  # registers the 0005 tables in the metadata
import spotcheck.gateway.store.models_duties  # registers the 0007 tables in the metadata
import spotcheck.gateway.store.models_public  # registers the 0002 tables in the metadata
import spotcheck.gateway.store.models_sanctions  # noqa: F401 - registers the 0008 tables in the metadata
from spotcheck.gateway.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `spotcheck migrate`, which supplies the database connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
