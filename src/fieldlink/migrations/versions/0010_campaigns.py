"""campaigns schema changes (placeholder until the campaigns work lands)

Revision ID: 0010_campaigns
Revises: 0009_portal
"""

from collections.abc import Sequence

revision: str = "0010_campaigns"
down_revision: str | None = "0009_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
