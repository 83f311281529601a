"""customers schema changes (placeholder)

Revision ID: 0003_customers
Revises: 0002_consent
"""

from collections.abc import Sequence

revision: str = "0003_customers"
down_revision: str | None = "0002_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
