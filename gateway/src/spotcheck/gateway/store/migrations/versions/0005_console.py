"""officers' accounts, console sessions and login throttling (issue 12: the regulator console)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:15:00.000000
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """No change yet: the revision is reserved so that the features being built share one linear history."""


def downgrade() -> None:
    """Nothing to undo."""
