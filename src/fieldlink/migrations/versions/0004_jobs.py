"""jobs schema changes (placeholder)

Revision ID: 0004_jobs
Revises: 0003_customers
"""

from collections.abc import Sequence

revision: str = "0004_jobs"
down_revision: str | None = "0003_customers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
