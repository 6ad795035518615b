"""hazard list, consumer warnings, penalty decisions and the backup sample's return (issue 14)

The list of hazardous products failing a mandatory standard and consumer warnings (opinion 四(二), 一, 六(二)),
administrative penalty decisions for the enterprise credit record (四(三)), and the return of the backup sample
(三(一)). New tables only: runs on SQLite and PostgreSQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import spotcheck.gateway.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = spotcheck.gateway.store.types.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "hazard_listings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("authority_name", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction_division", sa.String(length=6), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("trademark", sa.String(length=200), nullable=False),
        sa.Column("spec_model", sa.String(length=200), nullable=False),
        sa.Column("manufacturer_name", sa.String(length=200), nullable=True),
        sa.Column("failing_items", _JSON, nullable=False),
        sa.Column("mandatory_standard", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=500), nullable=False),
        sa.Column("platforms", _JSON, nullable=False),
        sa.Column("announcement_id", sa.String(length=40), nullable=True),
        sa.Column("listed_by", sa.String(length=120), nullable=False),
        sa.Column("listed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_listings")),
        sa.UniqueConstraint("case_id", name=op.f("uq_hazard_listings_case_id")),
    )
    with op.batch_alter_table("hazard_listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_listings_authority_id"), ["authority_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_listings_listed_at"), ["listed_at"], unique=False)

    op.create_table(
        "consumer_warnings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("authority_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_ids", _JSON, nullable=False),
        sa.Column("hazard_listing_ids", _JSON, nullable=False),
        sa.Column("published_by", sa.String(length=120), nullable=False),
        sa.Column("published_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_warnings")),
    )
    with op.batch_alter_table("consumer_warnings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consumer_warnings_authority_id"), ["authority_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_consumer_warnings_published_at"), ["published_at"], unique=False)

    op.create_table(
        "penalty_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=True),
        sa.Column("decision_no", sa.String(length=128), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("party_role", sa.String(length=16), nullable=False),
        sa.Column("party_name", sa.String(length=200), nullable=False),
        sa.Column("party_uscc", sa.String(length=18), nullable=False),
        sa.Column("legal_representative", sa.String(length=200), nullable=True),
        sa.Column("violation_type", sa.String(length=200), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("confiscated_fen", sa.BigInteger(), nullable=True),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("authority_name", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("published_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_penalty_decisions")),
        sa.UniqueConstraint("decision_no", name=op.f("uq_penalty_decisions_decision_no")),
    )
    with op.batch_alter_table("penalty_decisions", schema=None) as batch_op:
        for column in ("case_id", "merchant_id", "party_uscc", "authority_id", "published_at"):
            batch_op.create_index(batch_op.f(f"ix_penalty_decisions_{column}"), [column], unique=False)

    op.create_table(
        "backup_sample_returns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("shipped_at", _TIME, nullable=False),
        sa.Column("carrier", sa.String(length=200), nullable=True),
        sa.Column("waybill_no", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", _TIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("breach", _JSON, nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_backup_sample_returns_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_sample_returns")),
        sa.UniqueConstraint("case_id", name=op.f("uq_backup_sample_returns_case_id")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("backup_sample_returns")
    with op.batch_alter_table("penalty_decisions", schema=None) as batch_op:
        for column in ("published_at", "authority_id", "party_uscc", "merchant_id", "case_id"):
            batch_op.drop_index(batch_op.f(f"ix_penalty_decisions_{column}"))
    op.drop_table("penalty_decisions")
    with op.batch_alter_table("consumer_warnings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consumer_warnings_published_at"))
        batch_op.drop_index(batch_op.f("ix_consumer_warnings_authority_id"))
    op.drop_table("consumer_warnings")
    with op.batch_alter_table("hazard_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_listings_listed_at"))
        batch_op.drop_index(batch_op.f("ix_hazard_listings_authority_id"))
    op.drop_table("hazard_listings")
