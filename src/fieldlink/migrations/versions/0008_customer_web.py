"""customer_web schema changes (placeholder until the customer_web work lands)

Revision ID: 0008_customer_web
Revises: 0007_sms
"""

from collections.abc import Sequence

revision: str = "0008_customer_web"
down_revision: str | None = "0007_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
