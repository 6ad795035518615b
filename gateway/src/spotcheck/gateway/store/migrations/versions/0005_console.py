"""officers' accounts, console sessions and login throttling (issue 12: the regulator console)

Plain tables: runs on SQLite and PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spotcheck.gateway.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UTC = spotcheck.gateway.store.types.UTCDateTime


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "officers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("password_changed_at", _UTC(timezone=True), nullable=False),
        sa.Column("last_login_at", _UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_officers_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officers")),
        sa.UniqueConstraint("username", name=op.f("uq_officers_username")),
    )
    op.create_index(op.f("ix_officers_authority_id"), "officers", ["authority_id"], unique=False)
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("last_seen_at", _UTC(timezone=True), nullable=False),
        sa.Column("expires_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name=op.f("fk_console_sessions_officer_id_officers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_officer_id"), "console_sessions", ["officer_id"], unique=False)
    op.create_table(
        "console_login_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", _UTC(timezone=True), nullable=True),
        sa.Column("locked_until", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_console_login_throttle")),
    )
    # The dashboard's compliance figures read recent platform-answer clocks by kind and creation time.
    op.create_index("ix_deadlines_kind_created", "deadlines", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_deadlines_kind_created", table_name="deadlines")
    op.drop_table("console_login_throttle")
    op.drop_index(op.f("ix_console_sessions_officer_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index(op.f("ix_officers_authority_id"), table_name="officers")
    op.drop_table("officers")
