"""sampling plans, directories and verifiable random draws (placeholder, filled by the plans change)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 07:30:00.000000
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""


def downgrade() -> None:
    """Revert this migration."""
