"""official documents: per-authority numbering sequences and stored, signed PDFs (issue 15)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No change yet: the revision is reserved so that the features being built share one linear history."""


def downgrade() -> None:
    """Nothing to undo."""
