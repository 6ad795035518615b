"""official documents: per-authority numbering sequences and stored, signed PDFs (issue 15)

``document_number_sequences`` (the last 文号 per authority, kind and year), ``documents`` (each numbered, signed
PDF of a case, by SHA-256) and ``document_deliveries`` (the notices that carried a document, whose delivery and
acknowledgement prove its service). Plain tables: runs on SQLite and PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import spotcheck.gateway.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_UTC = spotcheck.gateway.store.types.UTCDateTime


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "document_number_sequences",
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_document_number_sequences_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("authority_id", "kind", "year", name=op.f("pk_document_number_sequences")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("authority_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("number_year", sa.Integer(), nullable=False),
        sa.Column("number_seq", sa.Integer(), nullable=False),
        sa.Column("addressee_kind", sa.String(length=16), nullable=False),
        sa.Column("addressee_id", sa.String(length=64), nullable=False),
        sa.Column("addressee_name", sa.String(length=200), nullable=False),
        sa.Column("message_type", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("signer", sa.String(length=300), nullable=False),
        sa.Column("issued_at", _UTC(timezone=True), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_documents_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_documents_authority_id_authorities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint(
            "authority_id", "kind", "number_year", "number_seq", name=op.f("uq_documents_authority_id")
        ),
    )
    op.create_index(op.f("ix_documents_case_id"), "documents", ["case_id"], unique=False)
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"], unique=False)
    op.create_table(
        "document_deliveries",
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_deliveries_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["outbound_messages.id"], name=op.f("fk_document_deliveries_message_id_outbound_messages")
        ),
        sa.PrimaryKeyConstraint("document_id", "message_id", name=op.f("pk_document_deliveries")),
    )
    op.create_index(op.f("ix_document_deliveries_message_id"), "document_deliveries", ["message_id"], unique=False)


def downgrade() -> None:
    """Drop the document tables."""
    op.drop_index(op.f("ix_document_deliveries_message_id"), table_name="document_deliveries")
    op.drop_table("document_deliveries")
    op.drop_index(op.f("ix_documents_sha256"), table_name="documents")
    op.drop_index(op.f("ix_documents_case_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_table("document_number_sequences")
