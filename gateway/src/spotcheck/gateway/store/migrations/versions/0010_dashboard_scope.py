"""dashboard scope: clocks and notices carry their case's authority and jurisdiction (issue 12)

The console's dashboard counts the clocks and notices an officer may see. Joining each of a few thousand rows to its
case for the jurisdiction was most of the page's time; a case's ``authority_id`` and ``jurisdiction_division`` are
fixed when it is opened, so ``deadlines`` and ``outbound_messages`` now hold a copy (filled here from the cases;
NULL for a notice about no case) and the indexes the dashboard reads carry it:

* ``ix_deadlines_open_due`` (status, due_at) gains the scope and the id: the overdue and due-soon counts, and the
  most urgent clocks in due order, are read from it alone;
* ``ix_deadlines_kind_created_cover`` trades ``case_id`` for the scope;
* ``ix_outbound_due`` gains the scope after ``case_id`` (a notice about no case, ``case_id`` NULL, concerns every
  regulator: telling it by ``case_id`` rather than by a missing copy keeps a notice that lacked its copy hidden).

``deadlines``' copy is NOT NULL (every clock belongs to a case): SQLite sets that by rebuilding the table, which the
migration runner allows by switching foreign key enforcement off around the migration (``migrations._migrate``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_SCOPE = ["authority_id", "jurisdiction_division"]
_CLOCKS = ["kind", "created_at", "party", "status", "due_at", "met_at"]
_DUE = ["status", "next_attempt_at", "recipient_kind", "recipient_id"]


def _add_scope(table: str) -> None:
    op.add_column(table, sa.Column("authority_id", sa.String(length=40), nullable=True))
    op.add_column(table, sa.Column("jurisdiction_division", sa.String(length=6), nullable=True))
    # One pass that writes both columns, and only rows about a case (SQLite >= 3.15 and PostgreSQL take row values).
    op.execute(
        f"UPDATE {table} SET (authority_id, jurisdiction_division) = "  # noqa: S608 - fixed names
        f"(SELECT cases.authority_id, cases.jurisdiction_division FROM cases WHERE cases.id = {table}.case_id) "
        f"WHERE {table}.case_id IS NOT NULL"
    )


def upgrade() -> None:
    """Apply this migration."""
    _add_scope("deadlines")
    _add_scope("outbound_messages")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        for column, length in (("authority_id", 40), ("jurisdiction_division", 6)):
            batch_op.alter_column(column, existing_type=sa.String(length=length), nullable=False)
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.create_index("ix_deadlines_open_due", "deadlines", ["status", "due_at", *_SCOPE, "id"], unique=False)
    op.drop_index("ix_deadlines_kind_created_cover", table_name="deadlines")
    op.create_index("ix_deadlines_kind_created_cover", "deadlines", [*_CLOCKS, *_SCOPE], unique=False)
    op.drop_index("ix_outbound_due", table_name="outbound_messages")
    op.create_index("ix_outbound_due", "outbound_messages", [*_DUE, "case_id", *_SCOPE, "recipient_name"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_outbound_due", table_name="outbound_messages")
    op.create_index("ix_outbound_due", "outbound_messages", [*_DUE, "case_id", "recipient_name"], unique=False)
    op.drop_index("ix_deadlines_kind_created_cover", table_name="deadlines")
    op.create_index("ix_deadlines_kind_created_cover", "deadlines", [*_CLOCKS, "case_id"], unique=False)
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.create_index("ix_deadlines_open_due", "deadlines", ["status", "due_at"], unique=False)
    for table in ("outbound_messages", "deadlines"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("jurisdiction_division")
            batch_op.drop_column("authority_id")
