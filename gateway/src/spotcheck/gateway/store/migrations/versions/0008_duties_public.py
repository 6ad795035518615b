"""hazard list, consumer warnings, penalty decisions and the backup sample's return (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No change yet: the revision is reserved so that the features being built share one linear history."""


def downgrade() -> None:
    """Nothing to undo."""
