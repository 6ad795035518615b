"""duties of the opinion in the case lifecycle: receipt-based windows, authority channels, escalations (issue 14)

Authorities' contact channels and order answer hours (四(二), 五(三)), written re-inspection waivers (三(三)) and
拖延 findings against platforms. Plain tables: runs on SQLite and PostgreSQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spotcheck.gateway.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UTC = spotcheck.gateway.store.types.UTCDateTime


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "authority_channels",
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("webhook_url", sa.String(length=1000), nullable=True),
        sa.Column("webhook_config", sa.LargeBinary(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("order_acknowledge_hours", sa.Integer(), nullable=True),
        sa.Column("order_effect_hours", sa.Integer(), nullable=True),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_authority_channels_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("authority_id", name=op.f("pk_authority_channels")),
    )
    op.create_table(
        "reinspection_waivers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("party_role", sa.String(length=16), nullable=False),
        sa.Column("waived_by", sa.String(length=200), nullable=False),
        sa.Column("statement_sha256", sa.String(length=64), nullable=True),
        sa.Column("relayed_reply_id", sa.String(length=40), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("waived_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_reinspection_waivers_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reinspection_waivers")),
        sa.UniqueConstraint("case_id", "party_role", name=op.f("uq_reinspection_waivers_case_id")),
    )
    with op.batch_alter_table("reinspection_waivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reinspection_waivers_case_id"), ["case_id"], unique=False)
    op.create_table(
        "platform_findings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("deadline_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_type", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("found_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_platform_findings_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_platform_findings_deadline_id_deadlines")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_platform_findings_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_findings")),
        sa.UniqueConstraint("deadline_id", "kind", name=op.f("uq_platform_findings_deadline_id")),
    )
    with op.batch_alter_table("platform_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platform_findings_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_platform_findings_platform_id"), ["platform_id"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("platform_findings")
    op.drop_table("reinspection_waivers")
    op.drop_table("authority_channels")
