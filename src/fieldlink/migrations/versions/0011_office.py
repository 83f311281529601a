"""office schema changes (placeholder until the office work lands)

Revision ID: 0011_office
Revises: 0010_campaigns
"""

from collections.abc import Sequence

revision: str = "0011_office"
down_revision: str | None = "0010_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
