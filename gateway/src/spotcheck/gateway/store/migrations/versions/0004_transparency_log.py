"""the audit trail as an RFC 9162 Merkle log (placeholder, filled by the transparency-log change)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 07:30:00.000000
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""


def downgrade() -> None:
    """Revert this migration."""
