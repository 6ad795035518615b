"""the audit trail as an RFC 9162 Merkle log: leaf hashes on the records, stored tree nodes, signed checkpoints

The records of the old hash chain get their leaf hashes here and become the log's first leaves, in ``seq`` order,
when the sequencer first runs; their chain links stay, so the old checkpoints still verify.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 07:30:00.000000
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from spotcheck.gateway.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5000
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_records = sa.table(
    "audit_records",
    sa.column("seq", sa.BigInteger()),
    sa.column("at", UTCDateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("detail", _JSON),
    sa.column("leaf_hash", sa.LargeBinary()),
)


def _leaf_hash(at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> bytes:
    """The v1 event leaf of ``spotcheck.gateway.audit.leaves``, frozen here (a store migration cannot import audit/)."""
    if action == "log.message":  # no record before 0004 is a message leaf; kept so the two stay the same function
        fields = (detail["direction"], detail["webhook_id"], detail["timestamp"], detail["body_sha256"])
        data = ("\n".join(("spotcheck-message/v1", *fields)) + "\n").encode()
    else:
        stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event = {"at": stamp, "actor": actor, "action": action, "subject": subject, "detail": detail}
        data = b"spotcheck-event/v1\n" + msgspec.json.encode(event, order="sorted") + b"\n"
    return hashlib.sha256(b"\x00" + data).digest()


def _hash_existing_records() -> None:
    """Give every record of the old chain its leaf hash (the v1 leaf formats never change)."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                _records.c.seq,
                _records.c.at,
                _records.c.actor,
                _records.c.action,
                _records.c.subject,
                _records.c.detail,
            )
            .where(_records.c.seq > last)
            .order_by(_records.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(_records).where(_records.c.seq == sa.bindparam("s")).values(leaf_hash=sa.bindparam("h")),
            [
                {"s": seq, "h": _leaf_hash(at, actor, action, subject, detail)}
                for seq, at, actor, action, subject, detail in rows
            ],
        )
        last = rows[-1][0]


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
    _hash_existing_records()
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.alter_column("leaf_hash", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_records_leaf_index"), ["leaf_index"])
        batch_op.create_index(batch_op.f("ix_audit_records_leaf_hash"), ["leaf_hash"], unique=False)
        batch_op.create_index(
            "ix_audit_records_unsequenced",
            ["seq"],
            unique=False,
            postgresql_where=sa.text("leaf_index IS NULL"),
            sqlite_where=sa.text("leaf_index IS NULL"),
        )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_checkpoints")),
    )


def downgrade() -> None:
    """Revert this migration (records appended since have no chain links: they keep null ones)."""
    op.drop_table("log_checkpoints")
    op.drop_table("log_nodes")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_unsequenced")
        batch_op.drop_index(batch_op.f("ix_audit_records_leaf_hash"))
        batch_op.drop_constraint(batch_op.f("uq_audit_records_leaf_index"), type_="unique")
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("leaf_hash")
