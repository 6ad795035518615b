"""evidence files, signed audit checkpoints, public announcements

Evidence of purchase, unpacking and sealing (opinion 三(一)), signed checkpoints of the audit hash chain, and
announcements to unreachable parties (opinion 三(二)). Plain tables and indexes: runs on SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:28:42.474960
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spotcheck.gateway.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "announcements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("message_type", sa.String(length=64), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("published_at", spotcheck.gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", spotcheck.gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sa.UniqueConstraint("message_id", name=op.f("uq_announcements_message_id")),
    )
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_announcements_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_announcements_published_at"), ["published_at"], unique=False)

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("at", spotcheck.gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("public_key", sa.String(length=120), nullable=False),
        sa.Column("signature", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", spotcheck.gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_evidence_files_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("case_id", "step", "sha256", name=op.f("uq_evidence_files_case_id")),
    )
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_files_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_files_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_files_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_files_case_id"))

    op.drop_table("evidence_files")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcements_published_at"))
        batch_op.drop_index(batch_op.f("ix_announcements_case_id"))

    op.drop_table("announcements")
