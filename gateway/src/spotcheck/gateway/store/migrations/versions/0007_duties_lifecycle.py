"""duties of the opinion in the case lifecycle: receipt-based windows, authority channels, escalations (issue 14)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No change yet: the revision is reserved so that the features being built share one linear history."""


def downgrade() -> None:
    """Nothing to undo."""
