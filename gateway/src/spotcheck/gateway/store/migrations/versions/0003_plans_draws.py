"""sampling plans, directories and verifiable random draws

Plans (抽检实施方案) with their gap-free numbers, the object and inspector directories, the commit-reveal draws
(双随机一公开), and each case's plan and origin. Plain tables and indexes: runs on SQLite and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import spotcheck.gateway.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UTC = spotcheck.gateway.store.types.UTCDateTime
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("number_prefix", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=True),
        sa.Column("number_year", sa.Integer(), nullable=True),
        sa.Column("number_seq", sa.Integer(), nullable=True),
        sa.Column("content", _JSON, nullable=False),
        sa.Column("buyers", _JSON, nullable=False),
        sa.Column("addresses", _JSON, nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("approved_by", sa.String(length=40), nullable=True),
        sa.Column("approved_at", _UTC(timezone=True), nullable=True),
        sa.Column("started_at", _UTC(timezone=True), nullable=True),
        sa.Column("completed_at", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["authority_id"], ["authorities.id"], name=op.f("fk_plans_authority_id_authorities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("authority_id", "number_year", "number_seq", name=op.f("uq_plans_authority_id")),
    )
    op.create_index(op.f("ix_plans_authority_id"), "plans", ["authority_id"], unique=False)
    op.create_index(op.f("ix_plans_state"), "plans", ["state"], unique=False)
    op.create_table(
        "plan_number_counters",
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_plan_number_counters_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("authority_id", "year", name=op.f("pk_plan_number_counters")),
    )
    op.create_table(
        "directory_merchants",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("categories", _JSON, nullable=False),
        sa.Column("imported_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_directory_merchants_authority_id_authorities")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_directory_merchants_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_directory_merchants")),
    )
    for column in ("authority_id", "platform_id", "division_code"):
        op.create_index(op.f(f"ix_directory_merchants_{column}"), "directory_merchants", [column], unique=False)
    op.create_table(
        "inspectors",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("certificate_no", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_inspectors_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspectors")),
    )
    op.create_index(op.f("ix_inspectors_authority_id"), "inspectors", ["authority_id"], unique=False)
    _create_draws()
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("origin", _JSON, nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_plan_id"), ["plan_id"], unique=False)


def _create_draws() -> None:
    op.create_table(
        "draws",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("plan_number", sa.String(length=80), nullable=False),
        sa.Column("scope", _JSON, nullable=False),
        sa.Column("scope_sha256", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("candidates", _JSON, nullable=False),
        sa.Column("candidates_sha256", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("committed_at", _UTC(timezone=True), nullable=False),
        sa.Column("committed_by", sa.String(length=40), nullable=False),
        sa.Column("inspector_count", sa.Integer(), nullable=True),
        sa.Column("inspector_candidates", _JSON, nullable=True),
        sa.Column("inspector_candidates_sha256", sa.String(length=64), nullable=True),
        sa.Column("beacon", sa.String(length=500), nullable=True),
        sa.Column("beacon_source", sa.String(length=500), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("revealed_at", _UTC(timezone=True), nullable=True),
        sa.Column("revealed_by", sa.String(length=40), nullable=True),
        sa.Column("selected", _JSON, nullable=True),
        sa.Column("inspector_selected", _JSON, nullable=True),
        sa.ForeignKeyConstraint(["authority_id"], ["authorities.id"], name=op.f("fk_draws_authority_id_authorities")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_draws_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
        sa.UniqueConstraint("plan_id", "scope_sha256", name=op.f("uq_draws_plan_id")),
    )
    op.create_index(op.f("ix_draws_plan_id"), "draws", ["plan_id"], unique=False)
    op.create_index(op.f("ix_draws_authority_id"), "draws", ["authority_id"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_plan_id"))
        batch_op.drop_column("origin")
        batch_op.drop_column("plan_id")
    op.drop_table("draws")
    op.drop_table("inspectors")
    op.drop_table("directory_merchants")
    op.drop_table("plan_number_counters")
    op.drop_table("plans")
