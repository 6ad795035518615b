"""the fast intake path (issue 16)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No change yet: the revision is reserved so that the features being built share one linear history."""


def downgrade() -> None:
    """Nothing to undo."""
