"""console speed: indexes the dashboard reads alone (issue 12)

The cases-by-state count reads ``(state, authority_id, jurisdiction_division)`` of every case from an index instead
of fetching each visible case's row; the platform compliance figures read the recent platform-answer clocks from an
index that carries every column they count or measure (it replaces ``ix_deadlines_kind_created``, its prefix);
``ix_outbound_due`` gains the recipient, case and recipient name after its ``(status, next_attempt_at)``, so the count
of notices not delivered reads that index alone. Indexes only: runs on SQLite and PostgreSQL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CLOCK_COLUMNS = ["kind", "created_at", "party", "status", "due_at", "met_at", "case_id"]
_DUE = ["status", "next_attempt_at"]
_BACKLOG = ["recipient_kind", "recipient_id", "case_id", "recipient_name"]


def upgrade() -> None:
    """Apply this migration."""
    op.create_index("ix_cases_state_scope", "cases", ["state", "authority_id", "jurisdiction_division"], unique=False)
    op.create_index("ix_deadlines_kind_created_cover", "deadlines", _CLOCK_COLUMNS, unique=False)
    op.drop_index("ix_deadlines_kind_created", table_name="deadlines")
    op.drop_index("ix_outbound_due", table_name="outbound_messages")
    op.create_index("ix_outbound_due", "outbound_messages", [*_DUE, *_BACKLOG], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_outbound_due", table_name="outbound_messages")
    op.create_index("ix_outbound_due", "outbound_messages", _DUE, unique=False)
    op.create_index("ix_deadlines_kind_created", "deadlines", ["kind", "created_at"], unique=False)
    op.drop_index("ix_deadlines_kind_created_cover", table_name="deadlines")
    op.drop_index("ix_cases_state_scope", table_name="cases")
