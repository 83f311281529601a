"""portal schema changes (placeholder until the portal work lands)

Revision ID: 0009_portal
Revises: 0008_customer_web
"""

from collections.abc import Sequence

revision: str = "0009_portal"
down_revision: str | None = "0008_customer_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
